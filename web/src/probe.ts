// A handle on the page for the browser tests and `omnidesk bench desk`: cut the socket as a
// network failure would, and timestamps of when each event reached the screen.
import type { Desk } from "./context";

export interface Painted {
  event: string;
  /** When the event happened (the server's clock), ms since the epoch. */
  occurredAt: number;
  /** The animation frame after it was applied (the screen shows it), ms since the epoch. */
  paintedAt: number;
}

export interface Probe {
  cut(): void;
  lastEventId(): number | null;
  linkState(): string;
  painted: Map<number, Painted>;
}

declare global {
  interface Window {
    omnidesk?: Probe;
  }
}

export function expose(desk: Desk): void {
  const painted = new Map<number, Painted>();
  desk.store.onEvent((message) => {
    const occurredAt = Date.parse(message.occurred_at);
    // After the render this event causes: the next animation frame has painted it.
    requestAnimationFrame(() =>
      painted.set(message.id, { event: message.event, occurredAt, paintedAt: performance.timeOrigin + performance.now() }),
    );
  });
  // The first time the desk is live (snapshot applied, server caught up): `omnidesk bench desk`.
  const off = desk.link.subscribe((link) => {
    if (link.live) {
      performance.mark("omnidesk:live");
      off();
    }
  });
  window.omnidesk = {
    cut: () => desk.link.cut(),
    lastEventId: () => desk.store.lastEventId,
    linkState: () => desk.link.state.kind,
    painted,
  };
}
