import { useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useAction } from "../components/Action";
import { DispositionPicker, type WrapUpChoice } from "../crm/Disposition";
import { dispositionRequired, wrapUpBody } from "../crm/logic";
import { useNow } from "../hooks";
import { formatDuration, t } from "../i18n";
import type { AgentSlot } from "../realtime/types";

/** After-contact work: the wrap-up timer (routing's `ends_at`), one extension, and the end with
 * the disposition code and note (the CRM's codes; a queue may require one: 422, shown). */
export function WrapUp({ contactId, slot }: { contactId: string; slot: AgentSlot }) {
  const now = useNow();
  const [run, busy, error] = useAction();
  const [choice, setChoice] = useState<WrapUpChoice>({ disposition: "", note: "" });
  const [missing, setMissing] = useState(false);
  const path = { params: { path: { contact_id: contactId } } };
  const left = slot.ends_at ? (Date.parse(slot.ends_at) - now) / 1000 : null;

  async function end() {
    setMissing(false);
    try {
      await ok(api.POST("/api/v1/routing/wrap-ups/{contact_id}/end", { ...path, body: wrapUpBody(choice.disposition, choice.note) }));
    } catch (e) {
      if (dispositionRequired(e)) setMissing(true);
      else throw e;
    }
  }

  return (
    <section class="wrap-up" aria-label={t("wrapUp.label")} data-testid="wrap-up">
      <p>
        {left === null ? t("wrapUp.untilEnded") : t("wrapUp.left", { time: formatDuration(Math.max(0, left)) })}
      </p>
      <DispositionPicker
        contactId={contactId}
        value={choice}
        missing={missing}
        onChange={(value) => {
          setChoice(value);
          if (value.disposition) setMissing(false);
        }}
      />
      <div class="actions">
        {left !== null && (
          <button type="button" disabled={busy} onClick={() => run(() => ok(api.POST("/api/v1/routing/wrap-ups/{contact_id}/extend", { ...path, body: {} })))}>
            {t("wrapUp.extend")}
          </button>
        )}
        <button type="button" class="primary" disabled={busy} onClick={() => run(end)}>
          {t("wrapUp.end")}
        </button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
