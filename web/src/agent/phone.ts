// The browser phone (docs/voice.md, "Browser phone"; ADR 0030): the agent's browser is the
// agent side of a call over WebRTC. Registering asks for the microphone and tells the server;
// an offered call rings here (routing's offer on the socket), and answering sends the
// browser's offer (ICE gathered: the server does not trickle) and applies the server's answer.
import { api, ok } from "../api/client";
import { iceServers } from "./iceServers";

export type PhoneStatus = "off" | "registering" | "ready" | "connecting" | "in_call" | "mic_denied" | "failed";

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

  /** After a page load: the server may still have this user's browser phone registered. */
  async restore(): Promise<void> {
    const found = await ok(api.GET("/api/v1/voice/browser-phone"));
    this.iceServers = iceServers(found.ice_servers);
    if (found.registered && this.state.status === "off") this.set("ready");
  }

  private async microphone(): Promise<MediaStream> {
    if (this.mic && this.mic.getAudioTracks().some((tr) => tr.readyState === "live")) return this.mic;
    try {
      this.mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    } catch (e) {
      const name = e instanceof DOMException ? e.name : "";
      // NotAllowedError: the agent (or a policy) refused; NotFoundError: no microphone at all.
      this.set(name === "NotFoundError" ? "failed" : "mic_denied", name || String(e));
      throw e;
    }
    return this.mic;
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
      this.iceServers = iceServers(phone.ice_servers);
      this.set("ready");
    } catch (e) {
      this.set("failed", e instanceof Error ? e.message : String(e));
    }
  }

  async unregister(): Promise<void> {
    this.close();
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
    await this.connect(async (sdp) => {
      const answer = await ok(api.POST("/api/v1/voice/browser-phone/answer", { body: { offer_id: offerId, sdp } }));
      return answer.sdp;
    });
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
      return joined.sdp;
    });
  }

  /** A connection to the server: the browser's offer (ICE gathered) goes out through
   * `exchange`, whose answer is applied. */
  private async connect(exchange: (sdp: string) => Promise<string>): Promise<void> {
    const mic = await this.microphone();
    this.iceServers ??= iceServers((await ok(api.GET("/api/v1/voice/browser-phone"))).ice_servers);
    this.close();
    this.set("connecting");
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.pc = pc;
    for (const track of mic.getAudioTracks()) pc.addTrack(track, mic);
    const [transceiver] = pc.getTransceivers();
    // The server's media engine speaks G.711: offer it first so nothing is transcoded twice.
    const codecs = RTCRtpSender.getCapabilities?.("audio")?.codecs ?? [];
    const g711 = codecs.filter((c) => c.mimeType === "audio/PCMU" || c.mimeType === "audio/PCMA");
    if (transceiver && g711.length && transceiver.setCodecPreferences) transceiver.setCodecPreferences(g711);
    pc.ontrack = (ev) => {
      if (this.speaker) {
        this.speaker.srcObject = ev.streams[0] ?? new MediaStream([ev.track]);
        void this.speaker.play().catch(() => undefined);
      }
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      if (pc.connectionState === "connected") this.set("in_call");
      else if (pc.connectionState === "failed" || pc.connectionState === "closed") this.ended();
    };
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc);
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: await exchange(pc.localDescription!.sdp) });
    } catch (e) {
      this.close();
      this.set("ready");
      throw e;
    }
  }

  /** The call ended (the server hung up, or the connection failed). */
  ended(): void {
    this.close();
    if (this.state.status !== "off" && this.state.status !== "mic_denied") this.set("ready");
  }

  private close(): void {
    const pc = this.pc;
    this.pc = null;
    pc?.close();
    if (this.speaker) this.speaker.srcObject = null;
  }

  get inCall(): boolean {
    return this.pc !== null;
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

export const phone = new BrowserPhone();
