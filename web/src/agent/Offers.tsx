import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { useAction } from "../components/Action";
import { useNow } from "../hooks";
import { formatDuration, t } from "../i18n";
import type { AgentEntry, AgentSlot } from "../realtime/types";
import { Slot } from "../slots";
import { phone } from "./phone";

type Contact = Schemas["ContactView"];

/** The offered contact as routing holds it: when it was queued, what the channel said. Read once
 * per offer (the socket tells the agent of the offer, not of the contact's details). */
function useContact(contactId: string): Contact | null {
  const [contact, setContact] = useState<Contact | null>(null);
  useEffect(() => {
    ok(api.GET("/api/v1/routing/contacts/{contact_id}", { params: { path: { contact_id: contactId } } }))
      .then((found) => setContact(found as Contact))
      .catch(() => setContact(null));
  }, [contactId]);
  return contact;
}

function OfferCard({ contactId, slot }: { contactId: string; slot: AgentSlot }) {
  const now = useNow(250);
  const contact = useContact(contactId);
  const [run, busy, error] = useAction();
  const offerId = slot.offer_id!;
  const left = slot.ends_at ? (Date.parse(slot.ends_at) - now) / 1000 : null;
  const language = contact?.attributes?.language;
  const titleId = `offer-${contactId}`;
  return (
    <div class="offer" role="alertdialog" aria-labelledby={titleId} data-testid="offer" data-contact={contactId}>
      <h2 id={titleId}>{t("offer.title", { channel: t(`channel.${slot.channel}`, { defaultValue: slot.channel }) })}</h2>
      <dl class="facts">
        <dt>{t("offer.queue")}</dt>
        <dd>{slot.queue_id ?? "—"}</dd>
        <dt>{t("offer.language")}</dt>
        <dd>{typeof language === "string" ? language : "—"}</dd>
        <dt>{t("offer.waited")}</dt>
        <dd>{contact ? formatDuration((now - Date.parse(contact.queued_at)) / 1000) : "—"}</dd>
        <dt>{t("offer.expires")}</dt>
        <dd>
          <span class="countdown" role="timer" aria-live="off">
            {left === null ? "—" : formatDuration(Math.max(0, left))}
          </span>
        </dd>
      </dl>
      <Slot name="offer.customer" contactId={contactId} />
      <div class="actions">
        <button
          type="button"
          class="primary"
          autoFocus
          disabled={busy}
          onClick={() =>
            run(() =>
              // A call with the browser phone registered is answered in the browser: the server
              // accepts routing's offer once the browser's audio flows, as for a SIP softphone.
              slot.channel === "voice" && phone.registered
                ? phone.answer(offerId)
                : ok(api.POST("/api/v1/routing/offers/{offer_id}/accept", { params: { path: { offer_id: offerId } } })),
            )
          }
        >
          {t("offer.accept")}
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            run(() =>
              ok(api.POST("/api/v1/routing/offers/{offer_id}/reject", { params: { path: { offer_id: offerId } }, body: {} })),
            )
          }
        >
          {t("offer.reject")}
        </button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </div>
  );
}

export function Offers({ agent }: { agent: AgentEntry }) {
  const offered = Object.entries(agent.contacts).filter(([, s]) => s.state === "offered");
  if (!offered.length) return null;
  return (
    <section class="offers" aria-label={t("offer.region")}>
      {offered.map(([id, slot]) => (
        <OfferCard key={id} contactId={id} slot={slot} />
      ))}
    </section>
  );
}
