import { useEffect, useRef, useState } from "preact/hooks";
import { useDeskContext } from "../context";
import { t } from "../i18n";
import type { AgentEntry, Call } from "../realtime/types";
import { type IncomingRing, incomingRing } from "./incomingRing";
import { phone, type PhoneState } from "./phone";
import { PhoneDevices, useChosenSpeaker } from "./PhoneDevices";
import { PhoneDialer } from "./PhoneDialer";

export function usePhone(): PhoneState {
  const [state, setState] = useState<PhoneState>(phone.state);
  useEffect(() => phone.subscribe(setState), []);
  return state;
}

/** A soft two-tone ring (425/475 Hz, 1 s on, 2 s off) while a call is offered to the browser. */
function useRing(on: boolean) {
  useEffect(() => {
    if (!on || typeof AudioContext === "undefined") return;
    const ctx = new AudioContext();
    const gain = ctx.createGain();
    gain.gain.value = 0;
    gain.connect(ctx.destination);
    for (const hz of [425, 475]) {
      const osc = ctx.createOscillator();
      osc.frequency.value = hz;
      osc.connect(gain);
      osc.start();
    }
    let k = 0;
    const timer = setInterval(() => {
      gain.gain.value = k++ % 3 === 0 ? 0.05 : 0;
    }, 1000);
    return () => {
      clearInterval(timer);
      void ctx.close();
    };
  }, [on]);
}

/** Whether `me` is on `call` with their phone: its agent, consulted on it (their part ends
 * when the consult does), or monitoring it. */
export function onThisCall(call: Call, me: string | undefined): boolean {
  return (
    call.agent_id === me || call.consult?.agent_id === me || call.callee_id === me || call.monitors.some((m) => m.user_id === me)
  );
}

/** The browser asks before the page is left while the browser phone carries a call: leaving
 * (or reloading) closes the connection, which ends the call as a hang-up (ADR 0030, "A reload
 * mid-call"). Browsers show their own wording; the event only asks for it. */
function useLeaveWarning(on: boolean) {
  useEffect(() => {
    if (!on) return;
    const ask = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = t("phone.leaveWarning"); // (older browsers want a value)
      return event.returnValue;
    };
    window.addEventListener("beforeunload", ask);
    return () => window.removeEventListener("beforeunload", ask);
  }, [on]);
}

/** The agent's browser phone: register with one click; offered calls ring here, accepting
 * answers in the browser, the call's Hang up ends it (docs/voice.md, "Browser phone"). In the
 * supervisor's console (no `agent`: nothing is offered to ring) it is the phone monitoring
 * joins a call with. */
export function Phone({ agent, calls, userId }: { agent?: AgentEntry; calls: Record<string, Call>; userId?: string }) {
  const state = usePhone();
  const speaker = useRef<HTMLAudioElement>(null);
  const [busy, setBusy] = useState(false);
  useChosenSpeaker(speaker);
  const { link, store } = useDeskContext();
  const me = userId ?? agent?.id;
  const [incoming, setIncoming] = useState<IncomingRing | null>(null);
  useEffect(() => store.onEvent((message) => setIncoming((ring) => incomingRing(ring, message, me))), [store, me]);
  useEffect(() => {
    phone.speaker = speaker.current;
    // On the page load and on every reconnection: a server restart forgets registrations.
    let wasLive = link.live;
    void phone.restore().catch(() => undefined);
    const off = link.subscribe((l) => {
      if (l.live && !wasLive) void phone.restore().catch(() => undefined);
      wasLive = l.live;
    });
    return () => {
      off();
      phone.speaker = null;
    };
  }, [link]);
  const ringing = !!agent && phone.registered && state.status === "ready" &&
    Object.values(agent.contacts).some((s) => s.state === "offered" && s.channel === "voice");
  const called = !!incoming && phone.registered && state.status === "ready";
  useRing(ringing || called);
  // The server ended the call (the caller hung up, Hang up was pressed): close the connection.
  const onCall = Object.values(calls).some((c) => c.state !== "ended" && onThisCall(c, me));
  // (Only a call seen on the desk: the call is connected once the browser's audio reached the
  // server, which is after the browser's own connection says "connected".)
  const seen = useRef(false);
  useEffect(() => {
    if (onCall && phone.inCall) seen.current = true;
    else if (!onCall && seen.current) {
      seen.current = false;
      if (phone.inCall) phone.ended();
    }
  }, [onCall, state.status]);
  useLeaveWarning(phone.inCall && (state.status === "in_call" || state.status === "connecting"));
  const status = ringing || called ? "ringing" : state.status;
  const name = (id: string) => store.state?.routing.agents[id]?.name ?? id;
  const click = async (fn: () => Promise<void>) => {
    setBusy(true);
    try {
      await fn();
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="phone" aria-label={t("phone.label")} data-testid="phone" data-phone-status={status}>
      <span class="phone-status" role="status">
        {t(`phone.status.${status}`)}
      </span>
      {["off", "mic_denied", "mic_missing", "failed"].includes(state.status) ? (
        <button type="button" disabled={busy} onClick={() => click(() => phone.register())}>
          {t("phone.register")}
        </button>
      ) : (
        <button type="button" disabled={busy || phone.inCall} onClick={() => click(() => phone.unregister())}>
          {t("phone.unregister")}
        </button>
      )}
      {state.status === "mic_denied" && (
        <p class="error" role="alert" data-testid="phone-mic-denied">
          {t("phone.micDenied")}
        </p>
      )}
      {state.status === "mic_missing" && (
        <p class="error" role="alert" data-testid="phone-mic-missing">
          {t("phone.micMissing")}
        </p>
      )}
      {state.status === "failed" && state.detail && (
        <p class="error" role="alert">
          {t("phone.failed", { detail: state.detail })}
        </p>
      )}
      {called && (
        <div class="offer" role="alertdialog" aria-label={t("phone.incoming", { name: name(incoming.from) })} data-testid="phone-incoming">
          <p>{t("phone.incoming", { name: name(incoming.from) })}</p>
          <button
            type="button"
            class="primary"
            disabled={busy}
            onClick={() => click(() => phone.answer(incoming.ringId).finally(() => setIncoming(null)))}
          >
            {t("offer.accept")}
          </button>
          <button
            type="button"
            disabled={busy}
            data-testid="phone-decline"
            onClick={() => click(() => phone.decline(incoming.ringId).finally(() => setIncoming(null)))}
          >
            {t("phone.decline")}
          </button>
        </div>
      )}
      {agent && phone.registered && (
        <PhoneDialer
          state={state}
          agentId={agent.id}
          call={Object.values(calls).find((c) => c.state !== "ended" && (c.agent_id === agent.id || c.callee_id === agent.id)) ?? null}
        />
      )}
      <PhoneDevices speaker={speaker} />
      <audio ref={speaker} autoPlay data-testid="phone-speaker" />
    </section>
  );
}
