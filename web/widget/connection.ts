// The visitor's socket: the realtime protocol's register / snapshot / events, resumed with the
// last event id after any drop, so the transcript misses nothing and holds nothing twice.
import type { ChatMessage } from "./api";

export type Incoming =
  | { type: "snapshot"; last_event_id: number; messages: ChatMessage[] }
  | { type: "event"; id: number; event: "message"; data: ChatMessage }
  | { type: "event"; id: number; event: "closed"; data: Record<string, never> }
  | { type: "ready"; last_event_id: number }
  | { type: "pong"; last_event_id: number }
  | { type: "typing"; from: string; active: boolean }
  | { type: "queue"; state: string; position?: number; estimated_wait_seconds?: number | null }
  | { type: "error"; status: number; detail: string };

export interface Handlers {
  onSnapshot(messages: ChatMessage[]): void;
  onMessage(message: ChatMessage): void;
  onClosed(): void;
  onTyping(active: boolean): void;
  onQueue(state: Extract<Incoming, { type: "queue" }>): void;
  onState(state: "connecting" | "live" | "offline"): void;
}

type SocketFactory = (url: string) => WebSocket;

export class Connection {
  lastEventId: number | null = null;
  private socket: WebSocket | null = null;
  private stopped = false;
  private retry = 0;
  private ping: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly url: string,
    private readonly register: () => Record<string, unknown>,
    private readonly handlers: Handlers,
    private readonly open: SocketFactory = (u) => new WebSocket(u),
  ) {}

  private pongDue: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  // The browser knows before the socket does: going offline drops it at once, coming back
  // reconnects at once (with the last id) instead of waiting for a retry.
  private readonly onOffline = () => this.drop(60_000);
  private readonly onOnline = () => {
    if (!this.socket && !this.stopped) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retry = 0;
      this.connect();
    }
  };

  start(): void {
    this.stopped = false;
    if (typeof addEventListener === "function") {
      addEventListener("offline", this.onOffline);
      addEventListener("online", this.onOnline);
    }
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (typeof removeEventListener === "function") {
      removeEventListener("offline", this.onOffline);
      removeEventListener("online", this.onOnline);
    }
    this.clearTimers();
    this.socket?.close();
  }

  private clearTimers(): void {
    if (this.ping) clearInterval(this.ping);
    if (this.pongDue) clearTimeout(this.pongDue);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.ping = this.pongDue = this.retryTimer = null;
  }

  /** Give the socket up (offline, or a ping unanswered: a half-open socket) and reconnect. */
  private drop(delayMs?: number): void {
    const socket = this.socket;
    this.socket = null;
    this.clearTimers();
    socket?.close();
    this.handlers.onState("offline");
    this.schedule(delayMs);
  }

  private schedule(delayMs?: number): void {
    if (this.stopped) return;
    const delay = delayMs ?? Math.min(10_000, 500 * 2 ** this.retry++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped && !this.socket) this.connect();
    }, delay);
  }

  private keepalive(): void {
    if (this.socket?.readyState !== 1 || this.pongDue) return;
    this.send({ type: "ping" });
    this.pongDue = setTimeout(() => this.drop(), 10_000);
  }

  send(message: Record<string, unknown>): void {
    if (this.socket?.readyState === 1) this.socket.send(JSON.stringify(message));
  }

  private connect(): void {
    this.handlers.onState("connecting");
    const socket = this.open(this.url);
    this.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ ...this.register(), type: "register", last_event_id: this.lastEventId }));
    };
    socket.onmessage = (event) => this.receive(JSON.parse(String(event.data)) as Incoming);
    socket.onclose = (event) => {
      if (this.socket !== socket) return; // dropped already
      this.socket = null;
      this.clearTimers();
      this.handlers.onState("offline");
      // 4401/4403/4404: the identity or the widget is not accepted; retrying will not help.
      if ([4401, 4403, 4404].includes(event.code)) return;
      this.schedule();
    };
  }

  receive(message: Incoming): void {
    switch (message.type) {
      case "snapshot":
        this.lastEventId = message.last_event_id;
        this.handlers.onSnapshot(message.messages);
        break;
      case "event":
        if (this.lastEventId !== null && message.id <= this.lastEventId) return; // seen already
        this.lastEventId = message.id;
        if (message.event === "message") this.handlers.onMessage(message.data);
        else this.handlers.onClosed();
        break;
      case "ready":
      case "pong":
        this.lastEventId = Math.max(this.lastEventId ?? 0, message.last_event_id);
        if (this.pongDue) clearTimeout(this.pongDue);
        this.pongDue = null;
        if (message.type === "ready") {
          this.retry = 0;
          this.handlers.onState("live");
          if (this.ping) clearInterval(this.ping);
          this.ping = setInterval(() => this.keepalive(), 25_000);
        }
        break;
      case "typing":
        this.handlers.onTyping(message.active);
        break;
      case "queue":
        this.handlers.onQueue(message);
        break;
      case "error":
        break;
    }
  }
}
