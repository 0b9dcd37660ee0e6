import { useState } from "preact/hooks";
import { callStep, type CallStep, consultStep, recording, sendDigits } from "../api/voice";
import { useAction } from "../components/Action";
import { useDeskContext } from "../context";
import { formatTime, t } from "../i18n";
import type { Call } from "../realtime/types";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** Voice's call control (docs/voice.md) for the agent's call: every button is one request; what
 * the call is (held, muted, recording paused) is shown from the call's events. */
export function CallControls({ call }: { call: Call }) {
  const { user } = useDeskContext();
  const [run, busy, error] = useAction();
  const [keypad, setKeypad] = useState(false);
  const post = (step: CallStep) => run(() => callStep(step, call.call_id));
  if (call.agent_id !== user.id && call.consult?.agent_id === user.id) {
    // Consulted on another agent's call: the call's controls are theirs; Hang up ends only
    // this agent's part (the caller stays with the call's agent).
    return (
      <section class="call" aria-label={t("call.label")} data-testid="call" data-call-state="consulted">
        <p class="call-state">
          <span data-testid="call-state">{t("call.state.consulted")}</span>
          {call.caller && <> · {call.caller}</>}
        </p>
        <div class="actions" role="group" aria-label={t("call.controls")}>
          <button type="button" class="danger" disabled={busy} onClick={() => post("hangup")}>
            {t("call.hangup")}
          </button>
        </div>
        {error && <p class="error" role="alert">{error}</p>}
      </section>
    );
  }
  const held = call.state === "held";
  const connected = call.state === "connected" || held || call.state === "conference";
  return (
    <section class="call" aria-label={t("call.label")} data-testid="call" data-call-state={call.state}>
      <p class="call-state">
        <span data-testid="call-state">{t(`call.state.${call.state}`, { defaultValue: call.state })}</span>
        {call.caller && <> · {call.caller}</>}
        {call.connected_at && <> · {t("call.since", { time: formatTime(call.connected_at) })}</>}
        {call.muted && <> · {t("call.muted")}</>}
        {call.recording && <> · {t(`call.recording.${call.recording}`)}</>}
      </p>
      <div class="actions" role="group" aria-label={t("call.controls")}>
        <button type="button" disabled={busy || !connected} onClick={() => post(held ? "resume" : "hold")} aria-pressed={held}>
          {held ? t("call.resume") : t("call.hold")}
        </button>
        <button type="button" disabled={busy || !connected} onClick={() => post(call.muted ? "unmute" : "mute")} aria-pressed={call.muted}>
          {call.muted ? t("call.unmute") : t("call.mute")}
        </button>
        <button type="button" aria-expanded={keypad} onClick={() => setKeypad(!keypad)} disabled={!connected}>
          {t("call.keypad")}
        </button>
        {call.recording && (
          <button
            type="button"
            disabled={busy}
            onClick={() => run(() => recording(call.call_id, call.recording === "paused" ? "resume" : "pause"))}
          >
            {call.recording === "paused" ? t("call.recordResume") : t("call.recordPause")}
          </button>
        )}
        {(call.state === "consulting" || call.state === "conference") && (
          <>
            <button
              type="button"
              disabled={busy || call.consult?.state !== "connected"}
              onClick={() => run(() => consultStep(call.call_id, "complete"))}
            >
              {t("call.consultComplete")}
            </button>
            {call.state === "consulting" && (
              <button type="button" disabled={busy || call.consult?.state !== "connected"} onClick={() => post("conference")}>
                {t("call.conference")}
              </button>
            )}
            <button type="button" disabled={busy} onClick={() => run(() => consultStep(call.call_id, "cancel"))}>
              {t("call.consultCancel")}
            </button>
          </>
        )}
        <button type="button" class="danger" disabled={busy} onClick={() => post("hangup")}>
          {t("call.hangup")}
        </button>
      </div>
      {keypad && (
        <div class="keypad" role="group" aria-label={t("call.keypad")}>
          {KEYS.map((key) => (
            <button
              type="button"
              key={key}
              aria-label={t("call.key", { key })}
              onClick={() => run(() => sendDigits(call.call_id, key))}
            >
              {key}
            </button>
          ))}
        </div>
      )}
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
