import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import type { DeskStore } from "../realtime/store";
import { type Colleague, colleaguesAfter } from "./colleagueChoices";

export { type Colleague, colleagueChoices } from "./colleagueChoices";

/** The colleagues list, read on mount and again by `refresh` (call it when a picker opens),
 * and kept live from routing's state events on the realtime stream: a colleague going away or
 * coming back changes the list without a new read (one it does not know yet makes it read
 * the list again). */
export function useColleagues(store: DeskStore): [Colleague[], () => void] {
  const [found, setFound] = useState<Colleague[]>([]);
  const refresh = useCallback(() => {
    ok(api.GET("/api/v1/routing/colleagues"))
      .then((list) => setFound(list ?? []))
      .catch(() => undefined); // (keep the last list: the live ones are still shown)
  }, []);
  useEffect(refresh, [refresh]);
  const shown = useRef(found);
  shown.current = found;
  useEffect(
    () =>
      store.onEvent((message) => {
        const next = colleaguesAfter(shown.current, message);
        if (next === "refresh") refresh();
        else if (next !== shown.current) setFound((shown.current = next));
      }),
    [store, refresh],
  );
  return [found, refresh];
}
