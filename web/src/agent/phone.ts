// The browser phone (docs/voice.md, "Browser phone"; ADR 0030): the agent's browser is the
// agent side of a call over WebRTC. Registering asks for the microphone and tells the server;
// an offered call rings here (routing's offer on the socket), and answering sends the
// browser's offer (ICE gathered: the server does not trickle) and applies the server's answer.
import { api, ok } from "../api/client";
import { loadChoice, micProblem, openMicrophone, storage } from "./phoneDevices";
import { iceExpiry, iceServers } from "./iceServers";

export type PhoneStatus = "off" | "registering" | "ready" | "connecting" | "in_call" | "mic_denied" | "mic_missing" | "failed";

export interface PhoneState {
  status: PhoneStatus;
  detail: string | null;
}

type Listener = (s: PhoneState) => void;

class BrowserPhone {
  state: PhoneState = { status: "off", detail: null };
  private listeners = new Set<Listener>();
  private mic: MediaStream | null = null;
  private pc: RTCPeerConnection | null = null;
  /** The server's STUN/TURN servers (voice_ice_servers), as the API hands them; null: not
   * asked yet. The browser must use the same ones as the server for a relayed call. */
  private iceServers: RTCIceServer[] | null = null;
  /** The call the connection is in (for renegotiating it after a network change). */
  private callId: string | null = null;
  private reconnecting: Promise<boolean> | null = null;
  /** Whether the server takes Opus (voice_webrtc_opus): offered first then, else G.711 only. */
  private opus = false;
  /** When their short-lived TURN credentials expire (ms), if they do: asked again before. */
  private iceExpires: number | null = null;
  /** Where the caller is heard: an <audio> element the Phone control renders. */
  speaker: HTMLAudioElement | null = null;

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    fn(this.state);
    return () => this.listeners.delete(fn);
  }

  private set(status: PhoneStatus, detail: string | null = null) {
    this.state = { status, detail };
    for (const fn of this.listeners) fn(this.state);
  }

  /** Whenever the desk is (again) live: the server may still have this user's browser phone
   * registered (a page load), or may have forgotten it: registrations live in the server's
   * memory, so a restart drops them. A phone this browser had on registers again by itself, as
   * a SIP softphone does after its registrar restarts. */
  async restore(): Promise<void> {
    const found = await ok(api.GET("/api/v1/voice/browser-phone"));
    this.keepIceServers(found.ice_servers);
    this.opus = found.opus ?? false;
    if (found.registered) {
      if (this.state.status === "off") this.set("ready");
    } else if (phoneWasOn() && (this.state.status === "off" || this.state.status === "ready")) {
      await this.register();
    }
  }

  private keepIceServers(servers: Parameters<typeof iceServers>[0] & Parameters<typeof iceExpiry>[0]): void {
    this.iceServers = iceServers(servers);
    this.iceExpires = iceExpiry(servers);
  }

  /** The servers for a new connection: asked again when not known yet or when their TURN
   * credentials (short-lived, minted per request) expire within a minute. */
  private async freshIceServers(): Promise<RTCIceServer[]> {
    if (this.iceServers === null || (this.iceExpires !== null && this.iceExpires - Date.now() < 60_000)) {
      const found = await ok(api.GET("/api/v1/voice/browser-phone"));
      this.keepIceServers(found.ice_servers);
      this.opus = found.opus ?? false;
    }
    return this.iceServers ?? [];
  }

  private async microphone(): Promise<MediaStream> {
    try {
      return await this.openMicrophone();
    } catch (e) {
      const name = e instanceof DOMException ? e.name : "";
      // Refused (by the agent or a policy), or no microphone at all: as the device panel says.
      this.set(micProblem(e) === "missing" ? "mic_missing" : "mic_denied", name || String(e));
      throw e;
    }
  }

  /** The microphone the agent chose (phoneDevices.ts), opened once and kept while registered;
   * the device panel's level meter reads the same stream. Failing does not change the state. */
  async openMicrophone(): Promise<MediaStream> {
    if (this.mic && this.mic.getAudioTracks().some((tr) => tr.readyState === "live")) return this.mic;
    this.mic = await openMicrophone(loadChoice().mic);
    return this.mic;
  }

  /** Another microphone: during a call the sender's track is replaced in place
   * (RTCRtpSender.replaceTrack: no renegotiation, the server sees the same stream). */
  async switchMicrophone(deviceId: string | null): Promise<MediaStream> {
    const next = await openMicrophone(deviceId);
    const [track] = next.getAudioTracks();
    const sender = this.pc?.getSenders().find((s) => s.track === null || s.track.kind === "audio");
    if (sender && track) await sender.replaceTrack(track);
    const old = this.mic;
    this.mic = next;
    old?.getTracks().forEach((tr) => tr.stop());
    return next;
  }

  /** The device panel closed while the phone is off: let the microphone go (the browser's
   * "recording" indicator goes out). Registered, the phone keeps it for the next call. */
  releaseMicrophone(): void {
    if (this.registered || this.state.status === "registering") return;
    this.mic?.getTracks().forEach((tr) => tr.stop());
    this.mic = null;
  }

  async register(): Promise<void> {
    this.set("registering");
    try {
      await this.microphone();
    } catch {
      return; // the state says why
    }
    try {
      const phone = await ok(api.PUT("/api/v1/voice/browser-phone"));
      this.keepIceServers(phone.ice_servers);
      this.opus = phone.opus ?? false;
      rememberPhoneOn(true);
      this.set("ready");
    } catch (e) {
      this.set("failed", e instanceof Error ? e.message : String(e));
    }
  }

  async unregister(): Promise<void> {
    this.close();
    rememberPhoneOn(false);
    await ok(api.DELETE("/api/v1/voice/browser-phone"));
    this.mic?.getTracks().forEach((tr) => tr.stop());
    this.mic = null;
    this.set("off");
  }

  get registered(): boolean {
    return this.state.status === "ready" || this.state.status === "connecting" || this.state.status === "in_call";
  }

  /** Answer the call ringing for routing's offer `offerId`. */
  async answer(offerId: string): Promise<void> {
    await this.connect((sdp) => ok(api.POST("/api/v1/voice/browser-phone/answer", { body: { offer_id: offerId, sdp } })));
  }

  /** Join call `callId` as its supervisor (listen, whisper or barge): the monitor request
   * carries the browser's offer and its answer comes back (docs/voice.md, "Supervisor
   * monitoring"). Switching the mode later is a request without an offer. */
  async monitor(callId: string, mode: "listen" | "whisper" | "barge"): Promise<void> {
    await this.connect(async (sdp) => {
      const joined = await ok(
        api.POST("/api/v1/voice/calls/{call_id}/monitor", { params: { path: { call_id: callId } }, body: { mode, sdp } }),
      );
      if (!joined.sdp) throw new Error("no answer to the browser's offer");
      return { sdp: joined.sdp, call_id: callId };
    });
  }

  /** Call `number` from the browser: connected at once (the agent hears the ringback while the
   * server dials); the call's id, which the call has in /voice/calls once the number answers. */
  async dial(number: string): Promise<string> {
    const placed = await this.connect((sdp) => ok(api.POST("/api/v1/voice/browser-phone/calls", { body: { number, sdp } })));
    return placed.call_id;
  }

  /** Call another agent (their browser phone or softphone rings): as `dial`, the call's id. */
  async callAgent(agentId: string): Promise<string> {
    const placed = await this.connect((sdp) => ok(api.POST("/api/v1/voice/browser-phone/calls", { body: { agent_id: agentId, sdp } })));
    return placed.call_id;
  }

  /** Decline a colleague's call ringing this phone: their ring ends at once (why `declined`). */
  async decline(ringId: string): Promise<void> {
    await ok(api.POST("/api/v1/voice/browser-phone/decline", { body: { offer_id: ringId } }));
  }

  /** Give up a call whose number still rings. */
  async cancelDial(callId: string): Promise<void> {
    try {
      await ok(api.DELETE("/api/v1/voice/browser-phone/calls/{call_id}", { params: { path: { call_id: callId } } }));
    } finally {
      this.ended();
    }
  }

  private async connect<T extends { sdp: string; call_id?: string | null }>(
    send: (sdp: string) => Promise<T>,
  ): Promise<T> {
    const mic = await this.microphone();
    const servers = await this.freshIceServers();
    this.close();
    this.set("connecting");
    const pc = this.newConnection(servers, mic);
    this.pc = pc;
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc);
    try {
      const answer = await send(pc.localDescription!.sdp);
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      this.callId = answer.call_id ?? null;
      return answer;
    } catch (e) {
      this.close();
      this.set("ready");
      throw e;
    }
  }

  private newConnection(servers: RTCIceServer[], mic: MediaStream): RTCPeerConnection {
    const pc = new RTCPeerConnection({ iceServers: servers });
    for (const track of mic.getAudioTracks()) pc.addTrack(track, mic);
    const [transceiver] = pc.getTransceivers();
    // The server's media engine speaks G.711: offer only it so nothing is transcoded twice;
    // unless the server takes Opus (voice_webrtc_opus: its loss concealment for poor networks).
    const codecs = RTCRtpSender.getCapabilities?.("audio")?.codecs ?? [];
    const g711 = codecs.filter((c) => c.mimeType === "audio/PCMU" || c.mimeType === "audio/PCMA");
    const opus = this.opus ? codecs.filter((c) => c.mimeType.toLowerCase() === "audio/opus") : [];
    const wanted = [...opus, ...g711];
    if (transceiver && g711.length && transceiver.setCodecPreferences) transceiver.setCodecPreferences(wanted);
    pc.ontrack = (ev) => {
      if (pc === this.pc && this.speaker) {
        this.speaker.srcObject = ev.streams[0] ?? new MediaStream([ev.track]);
        void this.speaker.play().catch(() => undefined);
      }
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      if (pc.connectionState === "connected") this.set("in_call");
      else if (pc.connectionState === "closed") this.ended();
      else if (pc.connectionState === "failed") void this.reconnect().then((ok) => ok || this.ended());
    };
    // A network change (Wi-Fi to cable, a VPN coming up): ICE loses the path within seconds.
    // "disconnected" may heal by itself, so it gets a moment; "failed" is renegotiated at once.
    pc.oniceconnectionstatechange = () => {
      if (pc !== this.pc) return;
      if (pc.iceConnectionState === "disconnected") {
        setTimeout(() => {
          if (pc === this.pc && pc.iceConnectionState === "disconnected") void this.reconnect();
        }, RECONNECT_AFTER_MS);
      }
    };
    return pc;
  }

  /** Renegotiate the call's connection after a network change (docs/voice.md, "Browser
   * phone"): a new RTCPeerConnection whose offer the server answers with a new one of its own
   * behind the same call, so the call goes on. Not restartIce(): that keeps the DTLS session,
   * which the server's new connection (aiortc cannot restart ICE) cannot take over. True when
   * the new connection is in place. */
  reconnect(): Promise<boolean> {
    // One at a time: a second trigger (ICE failing, the network event) waits for the first.
    this.reconnecting ??= this.renegotiate().finally(() => {
      this.reconnecting = null;
    });
    return this.reconnecting;
  }

  private async renegotiate(): Promise<boolean> {
    const old = this.pc;
    const callId = this.callId;
    if (!old || !callId) return false;
    let next: RTCPeerConnection | null = null;
    try {
      next = this.newConnection(await this.freshIceServers(), await this.openMicrophone());
      await next.setLocalDescription(await next.createOffer());
      await iceGathered(next);
      // The new one is the call's from here: the old one's closing (the server lets it go
      // when it answers) must not end the call.
      this.pc = next;
      const answer = await ok(
        api.POST("/api/v1/voice/browser-phone/calls/{call_id}/renegotiate", {
          params: { path: { call_id: callId } },
          body: { sdp: next.localDescription!.sdp },
        }),
      );
      await next.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      old.close();
      return true;
    } catch {
      if (this.pc === next) this.pc = old; // the old connection stays the call's, if alive
      next?.close();
      return false;
    }
  }

  /** The browser's network came back or changed while in a call: renegotiate. */
  networkChanged(): void {
    if (this.pc && this.callId) void this.reconnect();
  }

  /** The call ended (the server hung up, or the connection failed). */
  ended(): void {
    this.close();
    if (!["off", "mic_denied", "mic_missing"].includes(this.state.status)) this.set("ready");
  }

  private close(): void {
    const pc = this.pc;
    this.pc = null;
    this.callId = null;
    pc?.close();
    if (this.speaker) this.speaker.srcObject = null;
  }

  get inCall(): boolean {
    return this.pc !== null;
  }
}

// Whether the agent turned this browser's phone on (and not off): kept across page loads and
// server restarts, per browser (another browser of the same agent decides for itself).
const PHONE_ON = "omnidesk.phone.on";

function phoneWasOn(): boolean {
  return storage()?.getItem(PHONE_ON) === "1";
}

function rememberPhoneOn(on: boolean): void {
  // (Storage refused, in a private window or by a policy: the phone is simply not
  // registered again by itself.)
  try {
    if (on) storage()?.setItem(PHONE_ON, "1");
    else storage()?.removeItem(PHONE_ON);
  } catch {
    // full or refused on write
  }
}

function iceGathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    // Host candidates come at once; never wait long for a STUN server that does not answer.
    setTimeout(() => resolve(), 3000);
  });
}

// How long ICE may stay "disconnected" (it can heal by itself) before the call renegotiates.
const RECONNECT_AFTER_MS = 2000;

export const phone = new BrowserPhone();

// The browser's own word that the network changed: back online, or another connection type.
if (typeof window !== "undefined") {
  window.addEventListener("online", () => phone.networkChanged());
  const connection = (navigator as Navigator & { connection?: EventTarget }).connection;
  connection?.addEventListener?.("change", () => phone.networkChanged());
}
