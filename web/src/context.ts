import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { RealtimeLink } from "./realtime/connection";
import type { DeskStore } from "./realtime/store";
import type { User } from "./session";

export interface Desk {
  user: User;
  store: DeskStore;
  link: RealtimeLink;
}

export const DeskContext = createContext<Desk | null>(null);

export function useDeskContext(): Desk {
  const desk = useContext(DeskContext);
  if (!desk) throw new Error("outside the desk");
  return desk;
}
