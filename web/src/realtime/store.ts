// The one state every screen shows: a snapshot, then events applied in order by id. Pure (no
// socket, no timers): connection.ts feeds it; the screens subscribe to it.
import { applyRouting, derive, emptyRouting, type EndedSlots, UnknownEvent } from "./routing";
import { applyIm } from "../im/apply";
import { applyAnalytics, emptyAnalytics } from "./analytics";
import { applyDirectory, applyVoice } from "./sections";
import type { DeskState, EventMessage, ServerMessage, SnapshotMessage } from "./types";

export type Listener = (store: DeskStore) => void;
/** Events of a domain the desk shows (CRM, channels) register an applier by prefix. */
export type Applier = (state: DeskState, message: EventMessage) => void;

export function emptyState(): DeskState {
  return {
    directory: { users: {}, teams: {} },
    routing: emptyRouting(),
    voice: { calls: {} },
    im: { threads: {}, hands: {} },
    analytics: emptyAnalytics(),
  };
}

export class DeskStore {
  state: DeskState | null = null;
  lastEventId: number | null = null;
  /** Bumped on every change: screens re-render when it moves. */
  version = 0;
  /** Set when an event could not be applied: the state is not to be trusted until a fresh
   * snapshot replaces it (the connection asks for one). */
  untrusted = false;
  /** Bumped by every snapshot: what is read over HTTP beside the stream is read again. */
  snapshots = 0;
  private ended: EndedSlots = new Map();
  private listeners = new Set<Listener>();
  private eventListeners = new Set<(message: EventMessage) => void>();
  private appliers = new Map<string, Applier>();

  constructor(readonly viewer: string) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called with each event after it was applied (the dashboard, the latency probe). */
  onEvent(listener: (message: EventMessage) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  register(prefix: string, applier: Applier): void {
    this.appliers.set(prefix, applier);
  }

  /** A message of the socket: a snapshot replaces the state (register, unknown id, scope
   * changed), an event is applied, a pong says how far this client is caught up. */
  handle(message: ServerMessage): void {
    if (message.type === "snapshot") this.applySnapshot(message);
    else if (message.type === "event") this.applyEvent(message);
    else if (message.type === "pong") this.caughtUp(message.last_event_id);
  }

  applySnapshot(message: SnapshotMessage): void {
    const fresh = emptyState();
    const given = structuredClone(message.state);
    this.state = {
      directory: given.directory ?? fresh.directory,
      routing: given.routing ?? fresh.routing,
      voice: given.voice ?? fresh.voice,
      im: given.im ?? fresh.im,
      analytics: { ...fresh.analytics, ...given.analytics },
    };
    derive(this.state.routing);
    this.ended = new Map();
    this.lastEventId = message.last_event_id;
    this.untrusted = false;
    this.snapshots += 1;
    this.changed();
  }

  /** Apply one event; false if it was at or below the last id (already covered). */
  applyEvent(message: EventMessage): boolean {
    if (this.state === null) throw new Error("an event before the snapshot");
    if (this.lastEventId !== null && message.id <= this.lastEventId) return false;
    this.lastEventId = message.id;
    const [domain] = message.event.split(".", 1);
    try {
      if (domain === "routing") applyRouting(this.state.routing, message.event, message.data, this.ended);
      else if (domain === "voice") applyVoice(this.state.voice, message.event, message.data);
      else if (domain === "analytics") applyAnalytics(this.state.analytics, message.event, message.data);
      else if (domain === "im") applyIm(this.state.im, message.event, message.data, this.viewer);
      else if (domain === "user" || domain === "team") {
        applyDirectory(this.state.directory, message.event, message.data, this.viewer);
        // A deleted team has no figures (the server sends none for it: docs/realtime.md).
        if (message.event === "team.deleted") delete this.state.analytics.teams[message.data.team_id];
      }
      else this.appliers.get(domain)?.(this.state, message);
    } catch (error) {
      if (!(error instanceof UnknownEvent)) throw error;
      this.untrusted = true;
    }
    this.changed();
    for (const listener of this.eventListeners) listener(message);
    return true;
  }

  /** The server says every event up to `id` this client may see has been sent. */
  caughtUp(id: number): void {
    if (this.lastEventId === null || id > this.lastEventId) this.lastEventId = id;
  }

  private changed(): void {
    this.version += 1;
    for (const listener of this.listeners) listener(this);
  }
}
