import { useCallback, useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import type { Colleague } from "./colleagueChoices";

export { type Colleague, colleagueChoices } from "./colleagueChoices";

/** The colleagues list, read on mount and again by `refresh` (call it when a picker opens). */
export function useColleagues(): [Colleague[], () => void] {
  const [found, setFound] = useState<Colleague[]>([]);
  const refresh = useCallback(() => {
    ok(api.GET("/api/v1/routing/colleagues"))
      .then((list) => setFound(list ?? []))
      .catch(() => undefined); // (keep the last list: the live ones are still shown)
  }, []);
  useEffect(refresh, [refresh]);
  return [found, refresh];
}
