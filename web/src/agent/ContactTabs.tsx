import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useAction } from "../components/Action";
import { useDeskContext } from "../context";
import { t } from "../i18n";
import type { AgentEntry, AgentSlot, Call } from "../realtime/types";
import { Knowledge } from "../knowledge/Knowledge";
import { Slot } from "../slots";
import { CallControls } from "./CallControls";
import { countUnread } from "./ConversationModel";
import "./ConversationView"; // fills the contact.conversation slot
import { TransferForm } from "./Transfer";
import { WrapUp } from "./WrapUp";

function channelName(channel: string | null): string {
  return channel ? t(`channel.${channel}`, { defaultValue: channel }) : "—";
}

function ContactPanel({ contactId, slot, call }: { contactId: string; slot: AgentSlot; call: Call | undefined }) {
  const [run, busy, error] = useAction();
  const active = slot.state === "active";
  return (
    <div class="contact">
      <dl class="facts">
        <dt>{t("contact.channel")}</dt>
        <dd>{channelName(slot.channel)}</dd>
        <dt>{t("contact.queue")}</dt>
        <dd>{slot.queue_id ?? "—"}</dd>
        <dt>{t("contact.id")}</dt>
        <dd>{contactId}</dd>
      </dl>
      <div class="contact-body">
        <div class="contact-main">
          {call && active && <CallControls call={call} />}
          <Slot name="contact.conversation" contactId={contactId} channel={slot.channel} />
          {active && (
            <>
              <TransferForm contactId={contactId} channel={slot.channel} callId={call?.call_id} />
              <div class="actions">
                <button
                  type="button"
                  class="primary"
                  disabled={busy}
                  onClick={() =>
                    run(() => ok(api.POST("/api/v1/routing/contacts/{contact_id}/end", { params: { path: { contact_id: contactId } } })))
                  }
                >
                  {t("contact.end")}
                </button>
              </div>
              {error && <p class="error" role="alert">{error}</p>}
            </>
          )}
          {slot.state === "wrap_up" && <WrapUp contactId={contactId} slot={slot} />}
        </div>
        <div class="contact-side">
          <Slot name="contact.customer" contactId={contactId} channel={slot.channel} />
          <Knowledge queueId={slot.queue_id} />
        </div>
      </div>
    </div>
  );
}

/** The contacts the agent holds (up to capacity), one tab each: the work of one at a time. */
export function ContactTabs({ agent }: { agent: AgentEntry }) {
  const { store } = useDeskContext();
  const held = Object.entries(agent.contacts).filter(([, s]) => s.state === "active" || s.state === "wrap_up");
  const [chosen, setChosen] = useState<string | null>(null);
  const [unread, setUnread] = useState<Record<string, number>>({});
  const shown = useRef<string | null>(null);
  // A customer's message for a tab not in front counts on that tab until it is shown.
  useEffect(() => store.onEvent((message) => setUnread((counts) => countUnread(counts, message, shown.current))), [store]);
  const front = (held.find(([id]) => id === chosen) ?? held[0])?.[0] ?? null;
  shown.current = front;
  useEffect(() => {
    if (front && unread[front]) setUnread(({ [front]: _, ...rest }) => rest);
  }, [front, unread]);
  if (!held.length) return <p class="empty" data-testid="no-contacts">{t("contact.none")}</p>;
  const current = held.find(([id]) => id === chosen) ?? held[0];
  const calls = Object.values(store.state?.voice.calls ?? {});

  function onKey(event: KeyboardEvent, index: number) {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    const next = held[(index + step + held.length) % held.length][0];
    setChosen(next);
    document.getElementById(`tab-${next}`)?.focus();
  }

  return (
    <section class="contacts" aria-label={t("contact.region")}>
      <div role="tablist" aria-label={t("contact.tabs")}>
        {held.map(([id, slot], index) => (
          <button
            type="button"
            role="tab"
            id={`tab-${id}`}
            key={id}
            aria-selected={id === current[0]}
            aria-controls={`panel-${id}`}
            tabIndex={id === current[0] ? 0 : -1}
            data-testid="contact-tab"
            data-state={slot.state}
            onClick={() => setChosen(id)}
            onKeyDown={(e) => onKey(e, index)}
          >
            {channelName(slot.channel)} · {slot.queue_id ?? "—"}
            {slot.state === "wrap_up" && <> · {t("state.wrap_up")}</>}
            {(unread[id] ?? 0) > 0 && id !== current[0] && (
              <span class="badge" data-testid="tab-unread" aria-label={t("contact.unread", { count: unread[id] })}>
                {unread[id]}
              </span>
            )}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${current[0]}`} aria-labelledby={`tab-${current[0]}`} tabIndex={0}>
        <ContactPanel
          contactId={current[0]}
          slot={current[1]}
          // (A consult leg's tab is the consulted agent's part of the caller's call.)
          call={calls.find((c) => c.contact_id === current[0] || c.consult?.consult_id === current[0])}
        />
      </div>
    </section>
  );
}
