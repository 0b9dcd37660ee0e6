import { useEffect, useState } from "preact/hooks";
import { callStep, sendDigits } from "../api/voice";
import { useAction } from "../components/Action";
import { useDeskContext } from "../context";
import { useDesk } from "../hooks";
import { t } from "../i18n";
import type { Call } from "../realtime/types";
import { colleagueChoices, useColleagues } from "./colleagues";
import { phone, type PhoneState } from "./phone";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** The browser phone's dial pad (docs/voice.md, "Browser phone"): with no call it composes a
 * number and Call dials it from the browser; on a call each key is sent to the far end as a
 * digit (the call's keypad request, RFC 4733 telephone-events where the far end takes them). */
export function PhoneDialer({ state, call, agentId }: { state: PhoneState; call: Call | null; agentId: string }) {
  const { store } = useDeskContext();
  useDesk(store);
  const [fetched, refresh] = useColleagues();
  const colleagues = colleagueChoices(fetched, store.state?.routing.agents ?? {}, agentId);
  const [colleague, setColleague] = useState("");
  const [number, setNumber] = useState("");
  const [dialling, setDialling] = useState<{ id: string; number: string } | null>(null);
  const [run, busy, error] = useAction();
  // The number answered (the call is on the desk), or the browser's connection ended.
  useEffect(() => {
    if (call || state.status === "ready") setDialling(null);
  }, [call?.call_id, state.status]);
  const onCall = call !== null && call.state !== "ended";
  const press = (key: string) =>
    onCall ? run(() => sendDigits(call.call_id, key)) : setNumber((n) => (n + key).slice(0, 40));
  const dial = () =>
    run(async () => {
      const id = await phone.dial(number.trim());
      setDialling({ id, number: number.trim() });
    });
  const callColleague = () =>
    run(async () => {
      const id = await phone.callAgent(colleague);
      setDialling({ id, number: colleagues.find((c) => c.id === colleague)?.name ?? colleague });
    });
  const idle = state.status === "ready" && !dialling;
  return (
    <div class="phone-dialer" data-testid="phone-dialer">
      {!onCall && (
        <form
          class="phone-dial"
          onSubmit={(e) => {
            e.preventDefault();
            void dial();
          }}
        >
          <label>
            {t("phone.dial.number")}
            <input
              type="tel"
              value={number}
              maxLength={40}
              disabled={!idle}
              onInput={(e) => setNumber((e.target as HTMLInputElement).value)}
              data-testid="phone-number"
            />
          </label>
          <button type="submit" disabled={busy || !idle || !number.trim()}>
            {t("phone.dial.call")}
          </button>
        </form>
      )}
      {!onCall && colleagues.length > 0 && (
        // Another agent, by name: their browser phone or softphone rings (no extensions).
        <form
          class="phone-dial"
          onSubmit={(e) => {
            e.preventDefault();
            void callColleague();
          }}
        >
          <label>
            {t("phone.dial.agent")}
            <select
              value={colleague}
              disabled={!idle}
              onChange={(e) => setColleague((e.target as HTMLSelectElement).value)}
              onFocus={refresh}
              data-testid="phone-agent"
            >
              <option value="">{t("transfer.choose")}</option>
              {colleagues.map((a) => (
                <option value={a.id} key={a.id}>
                  {t("transfer.colleague", { name: a.name, state: t(`state.${a.state}`) })}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={busy || !idle || !colleague}>
            {t("phone.dial.call")}
          </button>
        </form>
      )}
      {dialling && !onCall && (
        <p role="status" data-testid="phone-dialling">
          {t("phone.dial.calling", { number: dialling.number })}{" "}
          <button type="button" disabled={busy} onClick={() => run(() => phone.cancelDial(dialling.id))}>
            {t("phone.dial.cancel")}
          </button>
        </p>
      )}
      {(idle || onCall) && (
        <div class="keypad" role="group" aria-label={t(onCall ? "phone.dial.keypadCall" : "phone.dial.keypad")}>
          {KEYS.map((key) => (
            <button type="button" key={key} aria-label={t("call.key", { key })} disabled={busy} onClick={() => press(key)}>
              {key}
            </button>
          ))}
        </div>
      )}
      {onCall && (
        // (Also here: a call of an agent who is offline in routing has no contact tab.)
        <button type="button" class="danger" disabled={busy} onClick={() => run(() => callStep("hangup", call.call_id))}>
          {t("call.hangup")}
        </button>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
