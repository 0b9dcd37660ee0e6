import { useEffect, useState } from "preact/hooks";
import type { DeskStore } from "../realtime/store";

// After an answer, abandon, end or state change the figures are read again, at most once per
// this span (a busy center's events would otherwise read them many times a second).
const SETTLE_MS = 1500;

/** A number that changes when routing's events say the KPI reports have changed (debounced),
 * and on every snapshot (a resync): screens read the reports again when it does, never on a
 * timer of their own. */
export function useFiguresVersion(store: DeskStore, changes: (event: string) => boolean): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = store.onEvent((message) => {
      if (!changes(message.event) || timer) return;
      timer = setTimeout(() => {
        timer = null;
        setVersion((v) => v + 1);
      }, SETTLE_MS);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [store]);
  return version * 1_000_000 + store.snapshots;
}
