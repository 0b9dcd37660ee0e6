import { useEffect, useState } from "preact/hooks";
import type { RealtimeLink } from "./realtime/connection";
import type { DeskStore } from "./realtime/store";

/** Re-render whenever the store changes; returns its state. */
export function useDesk(store: DeskStore): DeskStore {
  const [, setVersion] = useState(store.version);
  useEffect(() => store.subscribe((s) => setVersion(s.version)), [store]);
  return store;
}

export function useLink(link: RealtimeLink): RealtimeLink {
  const [, setState] = useState(link.state);
  useEffect(() => link.subscribe((l) => setState(l.state)), [link]);
  return link;
}

/** The local clock, ticking every `ms`: timers on screen count from the server's instants. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
