// The realtime socket (docs/realtime.md): register, apply the snapshot, then the events in
// order; on a drop, reconnect with backoff and resume from the last id. The screen is "live"
// only once the server has answered a ping sent right after the register: the pong comes after
// the snapshot or the replay, so from then on the store holds what the server holds. Until
// then, and whenever the socket is gone, the link says so and the screens show it. Never polls:
// the only periodic message is a keepalive ping, to notice a connection that died silently.
import type { DeskStore } from "./store";
import type { ServerMessage } from "./types";

export type LinkState =
  | { kind: "connecting" }
  | { kind: "syncing" }
  | { kind: "live" }
  | { kind: "lost"; retryAt: number; attempt: number }
  | { kind: "ended" }
  | { kind: "refused"; detail: string };

export interface LinkOptions {
  url?: string;
  /** The server ended the session (4401): log in again. */
  onSessionEnded?: () => void;
  keepaliveMs?: number;
  pongTimeoutMs?: number;
}

const MAX_BACKOFF_MS = 15_000;

export function backoff(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt);
  return Math.round(base * (0.5 + random() / 2)); // jitter: a restart is not a stampede
}

export class RealtimeLink {
  state: LinkState = { kind: "connecting" };
  /** When the link was last live (ms since epoch); null before the first time. */
  liveAt: number | null = null;
  private socket: WebSocket | null = null;
  private attempt = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private keepalive: ReturnType<typeof setInterval> | null = null;
  private pongDue: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private listeners = new Set<(link: RealtimeLink) => void>();
  private readonly url: string;

  constructor(
    readonly store: DeskStore,
    private readonly options: LinkOptions = {},
  ) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = options.url ?? `${scheme}//${location.host}/api/v1/realtime`;
  }

  subscribe(listener: (link: RealtimeLink) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get live(): boolean {
    return this.state.kind === "live";
  }

  start(): void {
    this.stopped = false;
    addEventListener("online", this.onOnline);
    addEventListener("offline", this.onOffline);
    document.addEventListener("visibilitychange", this.onVisible);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    removeEventListener("online", this.onOnline);
    removeEventListener("offline", this.onOffline);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.clearTimers();
    this.detach()?.close(1000);
  }

  /** Drop the socket as a network failure would (tests and the benchmark use it). */
  cut(): void {
    this.drop();
  }

  private set(state: LinkState): void {
    this.state = state;
    if (state.kind === "live") this.liveAt = Date.now();
    for (const listener of this.listeners) listener(this);
  }

  private connect(): void {
    if (this.stopped) return;
    this.clearTimers();
    this.set({ kind: "connecting" });
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      // A store that could not apply an event asks for a fresh snapshot instead of a resume.
      const last = this.store.untrusted ? null : this.store.lastEventId;
      socket.send(JSON.stringify({ type: "register", last_event_id: last }));
      socket.send(JSON.stringify({ type: "ping" }));
      this.set({ kind: "syncing" });
    };
    socket.onmessage = (event) => this.receive(JSON.parse(event.data as string) as ServerMessage);
    socket.onclose = (event) => this.closed(event.code, event.reason);
    socket.onerror = () => {}; // a close follows
  }

  private receive(message: ServerMessage): void {
    if (message.type === "error") return; // its close code follows and says what to do
    this.store.handle(message);
    if (this.store.untrusted) {
      this.drop(0); // resync at once with a fresh snapshot
      return;
    }
    if (message.type === "pong") {
      if (this.pongDue) clearTimeout(this.pongDue);
      this.pongDue = null;
      if (this.state.kind === "syncing") {
        this.attempt = 0;
        this.set({ kind: "live" });
        this.startKeepalive();
      }
    }
  }

  private closed(code: number, reason: string): void {
    this.detach();
    this.clearTimers();
    if (code === 4401) {
      this.set({ kind: "ended" });
      this.options.onSessionEnded?.();
    } else if (code === 4403) {
      this.set({ kind: "refused", detail: reason });
    } else {
      this.scheduleRetry();
    }
  }

  /** Give the socket up now (dead, offline, or to resync) and reconnect after `delayMs`. */
  private drop(delayMs?: number): void {
    const socket = this.detach();
    socket?.close();
    this.clearTimers();
    this.scheduleRetry(delayMs);
  }

  private scheduleRetry(delayMs?: number): void {
    if (this.stopped) return;
    const delay = delayMs ?? backoff(this.attempt);
    this.attempt += 1;
    this.set({ kind: "lost", retryAt: Date.now() + delay, attempt: this.attempt });
    this.retry = setTimeout(() => this.connect(), delay);
  }

  private detach(): WebSocket | null {
    const socket = this.socket;
    if (socket) socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    this.socket = null;
    return socket;
  }

  private startKeepalive(): void {
    const every = this.options.keepaliveMs ?? 20_000;
    this.keepalive = setInterval(() => this.ping(), every);
  }

  private ping(): void {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN || this.pongDue) return;
    this.socket.send(JSON.stringify({ type: "ping" }));
    this.pongDue = setTimeout(() => this.drop(), this.options.pongTimeoutMs ?? 10_000);
  }

  private clearTimers(): void {
    for (const timer of [this.retry, this.pongDue]) if (timer) clearTimeout(timer);
    if (this.keepalive) clearInterval(this.keepalive);
    this.retry = this.pongDue = this.keepalive = null;
  }

  private onOnline = (): void => {
    if (this.state.kind === "lost") this.connect();
  };

  private onOffline = (): void => {
    if (this.socket) this.drop();
  };

  // A laptop waking up: make sure the socket still works before trusting it.
  private onVisible = (): void => {
    if (document.visibilityState === "visible") {
      if (this.state.kind === "live") this.ping();
      else if (this.state.kind === "lost") this.connect();
    }
  };
}
