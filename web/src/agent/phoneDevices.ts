// The browser phone's audio devices (docs/agent-guide.md, "Microphone and speaker"): which
// microphone and speaker to use, remembered per browser; the microphone's level for the meter;
// what a failed microphone request means for the agent. The pure parts are tested in
// phoneDevices.test.ts; the rest is the thin layer over the browser's media APIs.

export type DeviceKind = "mic" | "speaker";

/** What the agent chose, per browser (localStorage): a device id, or null for the default. */
export interface DeviceChoice {
  mic: string | null;
  speaker: string | null;
}

/** The part of MediaDeviceInfo a choice needs (the tests make plain objects). */
export interface Device {
  deviceId: string;
  kind: string;
  label: string;
}

export type KeyValue = Pick<Storage, "getItem" | "setItem" | "removeItem">;

const KEY = "omnidesk.phone.devices";
const KINDS: Record<DeviceKind, string> = { mic: "audioinput", speaker: "audiooutput" };

export function loadChoice(store: KeyValue | null = storage()): DeviceChoice {
  const none = { mic: null, speaker: null };
  let saved: unknown;
  try {
    saved = JSON.parse(store?.getItem(KEY) ?? "null");
  } catch {
    return none; // written by an older desk, or by hand: start over with the defaults
  }
  if (!saved || typeof saved !== "object") return none;
  const { mic, speaker } = saved as Record<string, unknown>;
  return {
    mic: typeof mic === "string" && mic ? mic : null,
    speaker: typeof speaker === "string" && speaker ? speaker : null,
  };
}

export function saveChoice(kind: DeviceKind, deviceId: string | null, store: KeyValue | null = storage()): DeviceChoice {
  const choice = { ...loadChoice(store), [kind]: deviceId && deviceId !== "default" ? deviceId : null };
  if (!choice.mic && !choice.speaker) store?.removeItem(KEY);
  else store?.setItem(KEY, JSON.stringify(choice));
  return choice;
}

/** The devices of one kind, as the picker lists them (a device without a label — before the
 * microphone is allowed — is "Microphone 2"). */
export function devicesOf(devices: readonly Device[], kind: DeviceKind): Device[] {
  const mine = devices.filter((d) => d.kind === KINDS[kind] && d.deviceId);
  // (Field by field: a MediaDeviceInfo's fields are getters, which a spread would not copy.)
  const name = (d: Device, i: number) => d.label || `${kind === "mic" ? "Microphone" : "Speaker"} ${i + 1}`;
  return mine.map((d, i) => ({ deviceId: d.deviceId, kind: d.kind, label: name(d, i) }));
}

/** Which device the picker shows selected: the remembered one while it is plugged in, else
 * the browser's default ("default" where the browser lists one, else the first). */
export function selected(devices: readonly Device[], kind: DeviceKind, remembered: string | null): string {
  const mine = devicesOf(devices, kind);
  if (remembered && mine.some((d) => d.deviceId === remembered)) return remembered;
  return mine.find((d) => d.deviceId === "default")?.deviceId ?? mine[0]?.deviceId ?? "";
}

/** The meter's reading, 0–100, from one window of samples (-1…1, an AnalyserNode's time
 * domain): the RMS level in dBFS mapped linearly from -60 dB (0, quieter is silence for a
 * headset) to 0 dB (100), as a sound meter shows it — a linear RMS would hardly move for speech. */
export function level(samples: ArrayLike<number>): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / samples.length);
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.round(Math.min(100, Math.max(0, ((db + 60) / 60) * 100)));
}

export type MicProblem = "denied" | "missing" | "busy" | "other";

/** What a failed getUserMedia means for the agent (each has its own message saying what to do). */
export function micProblem(error: unknown): MicProblem {
  const name = error instanceof Error || error instanceof DOMException ? error.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") return "denied";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "missing";
  if (name === "NotReadableError" || name === "AbortError") return "busy";
  return "other";
}

export function storage(): KeyValue | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage disabled: nothing is remembered, the defaults are used
  }
}

/** The chosen microphone (or the default); a remembered one that is gone falls back to the
 * default rather than failing the call. */
export async function openMicrophone(deviceId: string | null): Promise<MediaStream> {
  const media = navigator.mediaDevices;
  if (!media?.getUserMedia) throw new DOMException("no media devices (not a secure page?)", "NotFoundError");
  if (!deviceId) return media.getUserMedia({ audio: true, video: false });
  try {
    return await media.getUserMedia({ audio: { deviceId: { exact: deviceId } }, video: false });
  } catch (e) {
    if (micProblem(e) !== "missing") throw e;
    return media.getUserMedia({ audio: true, video: false });
  }
}

export async function listDevices(): Promise<Device[]> {
  return (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
}

type Sinkable = HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };

/** Whether this browser can choose where audio plays (HTMLMediaElement.setSinkId). */
export function canPickSpeaker(): boolean {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

export async function routeToSpeaker(el: HTMLMediaElement | null, deviceId: string | null): Promise<void> {
  const sink = el as Sinkable | null;
  if (sink?.setSinkId && sink.sinkId !== (deviceId ?? "")) await sink.setSinkId(deviceId ?? "");
}

/** A short tone (440 Hz, `ms` long) on the chosen speaker: through an <audio> element, since
 * that is what can be routed to a device (and what the call itself plays through). */
export async function playTestTone(deviceId: string | null, ms = 800): Promise<void> {
  const ctx = new AudioContext();
  try {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    const out = ctx.createMediaStreamDestination();
    osc.frequency.value = 440;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(out);
    const el = new Audio() as Sinkable;
    el.dataset.testid = "phone-test-tone";
    el.srcObject = out.stream;
    await routeToSpeaker(el, deviceId);
    osc.start();
    await el.play();
    await new Promise((r) => setTimeout(r, ms));
    osc.stop();
    el.pause();
    el.srcObject = null;
  } finally {
    await ctx.close();
  }
}

/** Reads the microphone's level every `everyMs` (an AnalyserNode on the stream); returns stop. */
export function watchLevel(stream: MediaStream, onLevel: (value: number) => void, everyMs = 100): () => void {
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  const source = ctx.createMediaStreamSource(stream);
  source.connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  void ctx.resume().catch(() => undefined);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(buf);
    onLevel(level(buf));
  }, everyMs);
  return () => {
    clearInterval(timer);
    source.disconnect();
    void ctx.close();
  };
}
