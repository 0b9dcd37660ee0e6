import type { RefObject } from "preact";
import { useEffect, useState } from "preact/hooks";
import { t } from "../i18n";
import { phone } from "./phone";
import {
  canPickSpeaker,
  type Device,
  type DeviceKind,
  devicesOf,
  listDevices,
  loadChoice,
  type MicProblem,
  micProblem,
  playTestTone,
  routeToSpeaker,
  saveChoice,
  selected,
  watchLevel,
} from "./phoneDevices";

/** The remembered speaker on the call's <audio> element, from the first render on (the panel
 * need not be opened for the choice to apply). */
export function useChosenSpeaker(speaker: RefObject<HTMLAudioElement | null>) {
  useEffect(() => {
    void routeToSpeaker(speaker.current, loadChoice().speaker).catch(() => undefined);
  }, []);
}

/** The phone's microphone and speaker (docs/agent-guide.md, "Microphone and speaker"): pick
 * them, play a test tone, watch the microphone's level before a call. Open, it holds the
 * microphone; closed, it lets it go unless the phone is registered. */
export function PhoneDevices({ speaker }: { speaker: RefObject<HTMLAudioElement | null> }) {
  const [open, setOpen] = useState(false);
  return (
    <details class="phone-devices" data-testid="phone-devices" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>{t("phone.devices.open")}</summary>
      {open && <DevicePanel speaker={speaker} />}
    </details>
  );
}

function DevicePanel({ speaker }: { speaker: RefObject<HTMLAudioElement | null> }) {
  const [devices, setDevices] = useState<Device[]>([]);
  const [choice, setChoice] = useState(loadChoice);
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [problem, setProblem] = useState<{ kind: MicProblem; detail: string } | null>(null);
  const [value, setValue] = useState(0);
  const [toning, setToning] = useState(false);

  const fail = (e: unknown) => setProblem({ kind: micProblem(e), detail: e instanceof Error ? e.name || e.message : String(e) });
  // The microphone first: the browser lists device names only once it is allowed.
  useEffect(() => {
    let live = true;
    const refresh = () => void listDevices().then((d) => live && setDevices(d));
    phone.openMicrophone().then((s) => live && setStream(s), fail).finally(refresh);
    navigator.mediaDevices?.addEventListener?.("devicechange", refresh);
    return () => {
      live = false;
      navigator.mediaDevices?.removeEventListener?.("devicechange", refresh);
      phone.releaseMicrophone();
    };
  }, []);
  useEffect(() => (stream ? watchLevel(stream, setValue) : undefined), [stream]);

  const pick = async (kind: DeviceKind, id: string) => {
    setChoice(saveChoice(kind, id));
    setProblem(null);
    try {
      if (kind === "mic") setStream(await phone.switchMicrophone(id === "default" ? null : id));
      else await routeToSpeaker(speaker.current, id === "default" ? null : id);
    } catch (e) {
      fail(e);
    }
  };
  const tone = async () => {
    setToning(true);
    try {
      await playTestTone(loadChoice().speaker);
    } catch (e) {
      setProblem({ kind: "other", detail: e instanceof Error ? e.message : String(e) });
    } finally {
      setToning(false);
    }
  };
  const mics = devicesOf(devices, "mic");
  const speakers = devicesOf(devices, "speaker");
  return (
    <div class="phone-devices-panel">
      <span class="phone-device">
        <label for="phone-mic">{t("phone.devices.mic")}</label>
        <select id="phone-mic" value={selected(devices, "mic", choice.mic)} disabled={!mics.length} onChange={(e) => void pick("mic", e.currentTarget.value)}>
          {mics.map((d) => (
            <option key={d.deviceId} value={d.deviceId}>
              {d.label}
            </option>
          ))}
        </select>
      </span>
      <div class="phone-meter" role="meter" aria-label={t("phone.devices.level")} aria-valuemin={0} aria-valuemax={100} aria-valuenow={value} data-testid="phone-mic-level">
        <span style={{ width: `${value}%` }} />
      </div>
      {canPickSpeaker() ? (
        <span class="phone-device">
          <label for="phone-speaker">{t("phone.devices.speaker")}</label>
          <select id="phone-speaker" value={selected(devices, "speaker", choice.speaker)} disabled={!speakers.length} onChange={(e) => void pick("speaker", e.currentTarget.value)}>
            {speakers.map((d) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label}
              </option>
            ))}
          </select>
        </span>
      ) : (
        <p class="hint">{t("phone.devices.noSpeakerChoice")}</p>
      )}
      <button type="button" disabled={toning} onClick={() => void tone()}>
        {t("phone.devices.testTone")}
      </button>
      {problem && (
        <p class="error" role="alert" data-testid="phone-devices-problem" data-problem={problem.kind}>
          {t(`phone.devices.problem.${problem.kind}`, { detail: problem.detail })}
        </p>
      )}
    </div>
  );
}
