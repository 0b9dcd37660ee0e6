// The customer on the desk: the card in an offer (slot "offer.customer") and the panel beside a
// contact (slot "contact.customer"). Registered in crm/index.ts.
import { useDeskContext } from "../context";
import { language, t, timeZone } from "../i18n";
import type { SlotProps } from "../slots";
import { useCard, useTimeline } from "./data";
import { consentFlags, entryDetail, type CardState, type CustomerCard } from "./logic";

function formatDateTime(value: string): string {
  return new Intl.DateTimeFormat(language(), { dateStyle: "short", timeStyle: "short", timeZone: timeZone() }).format(
    new Date(value),
  );
}

function channelName(channel: string): string {
  return t(`channel.${channel}`, { defaultValue: channel });
}

/** Who is calling when no customer is known: the number of the call, if it is one. */
function CallerOnly({ contactId }: { contactId: string }) {
  const { store } = useDeskContext();
  const call = Object.values(store.state?.voice.calls ?? {}).find((c) => c.contact_id === contactId);
  return (
    <p class="customer-unknown" data-testid="customer-unknown">
      {t("crm.unknown")}
      {call?.caller ? <> · {call.caller}</> : null}
    </p>
  );
}

function Cases({ customer }: { customer: CustomerCard }) {
  if (!customer.open_cases.length) return <p class="empty">{t("crm.noCases")}</p>;
  return (
    <ul class="cases" aria-label={t("crm.openCases")}>
      {customer.open_cases.map((c) => (
        <li key={c.id} data-testid="open-case">
          {c.number} · {c.title} ({t(`crm.caseStatus.${c.status}`, { defaultValue: c.status })})
        </li>
      ))}
    </ul>
  );
}

function Consent({ customer }: { customer: CustomerCard }) {
  const flags = consentFlags(customer.consent);
  if (!flags.length) return <>—</>;
  return (
    <ul class="consent">
      {flags.map((f) => {
        const [kind, channel] = f.key.split(".");
        const what = channel ? t("crm.consent.channel", { channel: channelName(channel) }) : t(`crm.consent.${kind}`);
        return (
          <li key={f.key} data-consent={f.key} data-given={f.given ? "yes" : "no"}>
            {what}: {f.given ? t("crm.yes") : t("crm.no")}
          </li>
        );
      })}
    </ul>
  );
}

function CardBody({ state, contactId }: { state: CardState; contactId: string }) {
  if (state.kind === "loading") return <p>{t("loading")}</p>;
  if (state.kind === "unknown") return <CallerOnly contactId={contactId} />;
  if (state.kind === "failed") return <p class="error">{t("crm.unavailable")}</p>;
  const { customer, repeat } = state.card;
  return (
    <>
      <p class="customer-name" data-testid="customer-name">
        {customer.display_name ?? t("crm.noName")}
        {customer.vip && <span class="tag">{t("crm.vip")}</span>}
        {customer.tier && <span class="tag">{customer.tier}</span>}
        {repeat && <span class="tag">{t("crm.repeat")}</span>}
      </p>
      <dl class="facts">
        <dt>{t("crm.language")}</dt>
        <dd data-testid="customer-language">{customer.language ?? "—"}</dd>
        <dt>{t("crm.consentLabel")}</dt>
        <dd>
          <Consent customer={customer} />
        </dd>
      </dl>
      <h4>{t("crm.openCases")}</h4>
      <Cases customer={customer} />
      <h4>{t("crm.lastContacts")}</h4>
      {customer.last_contacts.length ? (
        <ul class="last-contacts" aria-label={t("crm.lastContacts")}>
          {customer.last_contacts.map((c) => (
            <li key={c.id}>
              {formatDateTime(c.started_at)} · {channelName(c.channel)}
              {c.disposition && <> · {c.disposition}</>}
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">{t("crm.noContacts")}</p>
      )}
    </>
  );
}

/** The card in an incoming offer. */
export function OfferCustomer({ contactId }: SlotProps) {
  const state = useCard(contactId);
  return (
    <section class="customer-card" aria-label={t("crm.card")} data-testid="customer-card" data-state={state.kind}>
      <CardBody state={state} contactId={contactId} />
    </section>
  );
}

function Timeline({ customerId }: { customerId: string }) {
  const items = useTimeline(customerId);
  if (items === null) return <p>{t("loading")}</p>;
  if (!items.length) return <p class="empty">{t("crm.noTimeline")}</p>;
  return (
    <ol class="journey" tabIndex={0} aria-label={t("crm.timeline")} data-testid="timeline">
      {items.map((item) => {
        const detail = entryDetail(item);
        return (
          <li key={item.id} data-kind={item.kind}>
            <time dateTime={item.at}>{formatDateTime(item.at)}</time> ·{" "}
            {t(`crm.entry.${item.kind}`, { defaultValue: item.kind })}
            {detail && <> · {detail}</>}
          </li>
        );
      })}
    </ol>
  );
}

/** The customer panel beside a held contact: identities, open cases, the journey. */
export function ContactCustomer({ contactId }: SlotProps) {
  const state = useCard(contactId);
  return (
    <section class="customer-panel" aria-label={t("crm.panel")} data-testid="customer-panel" data-state={state.kind}>
      <h3>{t("crm.panel")}</h3>
      {state.kind === "known" ? (
        <>
          <p class="customer-name">{state.card.customer.display_name ?? t("crm.noName")}</p>
          <h4>{t("crm.identities")}</h4>
          <ul class="identities" aria-label={t("crm.identities")}>
            {state.card.customer.identities.map((i) => (
              <li key={i.id}>
                {t(`crm.identity.${i.kind}`, { defaultValue: i.kind })}: {i.value}
              </li>
            ))}
          </ul>
          <h4>{t("crm.openCases")}</h4>
          <Cases customer={state.card.customer} />
          <h4>{t("crm.timeline")}</h4>
          <Timeline customerId={state.card.customer.id} />
        </>
      ) : (
        <CardBody state={state} contactId={contactId} />
      )}
    </section>
  );
}
