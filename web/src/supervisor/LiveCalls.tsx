import { Phone, usePhone } from "../agent/Phone";
import { phone } from "../agent/phone";
import { endMonitor, monitor, type MonitorMode } from "../api/voice";
import { useAction } from "../components/Action";
import { useDeskContext } from "../context";
import { useDesk, useNow } from "../hooks";
import { formatDuration, t } from "../i18n";
import type { Call, LiveLeg } from "../realtime/types";
import { liveFigures } from "./audio";
import { FiguresLine } from "./RecentCalls";

const MODES: MonitorMode[] = ["listen", "whisper", "barge"];

function CallRow({ call, agentName, audio }: { call: Call; agentName: string; audio: LiveLeg[] }) {
  const { user } = useDeskContext();
  const now = useNow();
  const [run, busy, error] = useAction();
  usePhone(); // (re-rendered as the browser phone changes: it decides how to join)
  const mine = call.monitors.find((m) => m.user_id === user.id);
  const since = call.connected_at ?? call.started_at;
  // Joining with the browser phone sends its offer; switching mode (already in) does not.
  const join = (mode: MonitorMode) =>
    !mine && phone.registered ? phone.monitor(call.call_id, mode) : monitor(call.call_id, mode);
  // The browser phone holds one call: joining another would drop this one.
  const elsewhere = !mine && phone.registered && phone.inCall;
  return (
    <tr data-call={call.call_id}>
      <th scope="row">{call.caller ?? "—"}</th>
      <td>{call.queue_id ?? "—"}</td>
      <td>{agentName}</td>
      <td>{t(`call.state.${call.state}`, { defaultValue: call.state })}</td>
      <td>{since ? formatDuration((now - Date.parse(since)) / 1000) : "—"}</td>
      <td>
        <FiguresLine figures={liveFigures(audio)} testid="live-audio" />
      </td>
      <td>
        <div class="actions" role="group" aria-label={t("calls.monitor")}>
          {MODES.map((mode) => (
            <button type="button" key={mode} disabled={busy || elsewhere} aria-pressed={mine?.mode === mode} onClick={() => run(() => join(mode))}>
              {t(`calls.${mode}`)}
            </button>
          ))}
          {mine && (
            <button type="button" disabled={busy} onClick={() => run(() => endMonitor(call.call_id))}>
              {t("calls.stop")}
            </button>
          )}
        </div>
        {error && <span class="error" role="alert">{error}</span>}
      </td>
    </tr>
  );
}

/** Live calls the supervisor follows, with voice's monitoring (through their browser phone
 * when it is on, else by ringing their own softphone). */
export function LiveCalls() {
  const { store, user } = useDeskContext();
  useDesk(store);
  const calls = Object.values(store.state?.voice.calls ?? {});
  const agents = store.state?.routing.agents ?? {};
  return (
    <section class="calls" aria-labelledby="calls-title">
      <h2 id="calls-title">{t("calls.title")}</h2>
      <p class="source">{t("calls.hint")}</p>
      <Phone calls={store.state?.voice.calls ?? {}} userId={user.id} />
      {calls.length === 0 ? (
        <p class="empty">{t("calls.none")}</p>
      ) : (
        <table data-testid="calls">
          <thead>
            <tr>
              <th scope="col">{t("calls.caller")}</th>
              <th scope="col">{t("wallboard.queue")}</th>
              <th scope="col">{t("calls.agent")}</th>
              <th scope="col">{t("calls.state")}</th>
              <th scope="col">{t("calls.duration")}</th>
              <th scope="col">{t("recentCalls.audio")}</th>
              <th scope="col">{t("calls.monitor")}</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c) => (
              <CallRow
                key={c.call_id}
                call={c}
                agentName={c.agent_id ? (agents[c.agent_id]?.name ?? "—") : "—"}
                audio={store.state?.voice.audio?.[c.call_id] ?? []}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
