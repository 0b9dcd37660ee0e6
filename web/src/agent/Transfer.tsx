import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { consultCall, type Target, transferCall } from "../api/voice";
import { useAction } from "../components/Action";
import { useDeskContext } from "../context";
import { useDesk } from "../hooks";
import { t } from "../i18n";
import { colleagueChoices, useColleagues } from "./colleagues";

interface QueueChoice {
  id: string;
  name: string;
  channels: string[];
}

function useQueues(): QueueChoice[] {
  const [queues, setQueues] = useState<QueueChoice[]>([]);
  useEffect(() => {
    ok(api.GET("/api/v1/routing/queues"))
      .then((found) => setQueues((found ?? []).map((q: any) => q.definition as QueueChoice)))
      .catch(() => setQueues([]));
  }, []);
  return queues;
}

/** Hand the contact on: to a queue serving its channel, or to an agent the user can see, with a
 * note for whoever takes it. A call goes through voice (which moves the call and the contact);
 * other channels through routing. A call can also be consulted on first. */
export function TransferForm({ contactId, channel, callId }: { contactId: string; channel: string | null; callId?: string }) {
  const { user, store } = useDeskContext();
  useDesk(store);
  const queues = useQueues().filter((q) => !channel || q.channels.includes(channel));
  const [fetched, refresh] = useColleagues();
  const agents = colleagueChoices(fetched, store.state?.routing.agents ?? {}, user.id);
  const [target, setTarget] = useState("");
  const [note, setNote] = useState("");
  const [run, busy, error] = useAction();
  const formId = `transfer-${contactId}`;

  function chosen(): Target | null {
    const [kind, id] = target.split(":", 2);
    return kind === "queue" || kind === "agent" ? { kind, id } : null;
  }

  async function transfer(event: Event) {
    event.preventDefault();
    const to = chosen();
    if (!to) return;
    const text = note.trim() || null;
    await run(() =>
      callId
        ? transferCall(callId, to, text)
        : ok(
            api.POST("/api/v1/routing/contacts/{contact_id}/transfer", {
              params: { path: { contact_id: contactId } },
              body: { target_kind: to.kind, target: to.id, note: text, reserve_seconds: 30 },
            }),
          ),
    );
  }

  return (
    <form class="transfer" onSubmit={transfer} aria-labelledby={`${formId}-title`}>
      <h3 id={`${formId}-title`}>{t("transfer.title")}</h3>
      <label>
        {t("transfer.target")}
        <select required value={target} onFocus={refresh} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}>
          <option value="">{t("transfer.choose")}</option>
          <optgroup label={t("transfer.queues")}>
            {queues.map((q) => (
              <option value={`queue:${q.id}`} key={q.id}>
                {q.name}
              </option>
            ))}
          </optgroup>
          {agents.length > 0 && (
            <optgroup label={t("transfer.agents")}>
              {agents.map((a) => (
                <option value={`agent:${a.id}`} key={a.id}>
                  {t("transfer.colleague", { name: a.name, state: t(`state.${a.state}`) })}
                </option>
              ))}
            </optgroup>
          )}
        </select>
      </label>
      <label>
        {t("transfer.note")}
        <textarea maxLength={1000} rows={2} value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
      </label>
      <div class="actions">
        <button type="submit" disabled={busy || !target}>
          {t("transfer.submit")}
        </button>
        {callId && (
          <button type="button" disabled={busy || !target} onClick={() => run(() => consultCall(callId, chosen()!))}>
            {t("transfer.consult")}
          </button>
        )}
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}
