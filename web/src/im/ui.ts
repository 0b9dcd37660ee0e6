// Which conversation the messages panel shows: set by the panel itself and by the supervisor's
// raised hands ("Answer" opens the agent's direct thread). One desk per page, so one of these.
import type { Target } from "./api";

type Listener = (target: Target | null) => void;

class OpenConversation {
  target: Target | null = null;
  private listeners = new Set<Listener>();

  open(target: Target | null): void {
    this.target = target;
    for (const listener of this.listeners) listener(target);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export const conversation = new OpenConversation();

/** The thread in front of the viewer, if any (no notification for it while the tab shows). */
export function openThreadId(): string | null {
  const target = conversation.target;
  return target && "thread" in target ? target.thread : null;
}
