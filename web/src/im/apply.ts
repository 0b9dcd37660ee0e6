// Team messages in the store: the server's rule (src/omnidesk/directory/im/service.py) applied
// to events, so that a snapshot plus the events equals a fresh snapshot. Unread = the thread's
// last message number - how far this viewer has read; one's own message counts as read.
import { UnknownEvent } from "../realtime/routing";
import type { ImSection, ImThread } from "../realtime/types";

export function applyIm(view: ImSection, name: string, data: Record<string, any>, viewer: string): void {
  switch (name) {
    case "im.message_posted": {
      const { thread: info, message } = data;
      // An admin receives every event, but the others' direct threads are not theirs.
      if (info.kind === "direct" && !info.users.some((u: { id: string }) => u.id === viewer)) return;
      const thread: ImThread = (view.threads[info.id] ??= {
        ...info,
        last_number: 0,
        last_read: 0,
        unread: 0,
        last_message: null,
      });
      Object.assign(thread, info);
      if (message.number > thread.last_number) {
        thread.last_number = message.number;
        thread.last_message = message;
      }
      if (message.author.id === viewer) thread.last_read = Math.max(thread.last_read, message.number);
      thread.unread = thread.last_number - thread.last_read;
      return;
    }
    case "im.thread_read": {
      if (data.user_id !== viewer) return; // an admin receives everyone's
      const thread = view.threads[data.thread_id];
      if (!thread) return;
      thread.last_read = Math.max(thread.last_read, data.last_read);
      thread.unread = thread.last_number - thread.last_read;
      return;
    }
    case "im.hand_raised":
      view.hands[data.hand.user.id] = data.hand;
      return;
    case "im.hand_lowered":
      delete view.hands[data.user_id];
      return;
    default:
      throw new UnknownEvent(name);
  }
}

/** Threads, the latest message first. */
export function sortedThreads(view: ImSection): ImThread[] {
  const at = (t: ImThread) => t.last_message?.posted_at ?? "";
  return Object.values(view.threads).sort((a, b) => at(b).localeCompare(at(a)));
}

export function unreadTotal(view: ImSection | undefined): number {
  return Object.values(view?.threads ?? {}).reduce((sum, t) => sum + t.unread, 0);
}

/** The other user of a direct thread. */
export function partner(thread: Pick<ImThread, "users">, viewer: string): { id: string; display_name: string } | null {
  return (thread.users ?? []).find((u) => u.id !== viewer) ?? null;
}

/** The direct thread with a user, if there is one. */
export function directWith(view: ImSection, viewer: string, user: string): ImThread | null {
  return (
    Object.values(view.threads).find((t) => t.kind === "direct" && partner(t, viewer)?.id === user) ?? null
  );
}

export interface Notice {
  title: string;
  body: string;
  tag: string;
}

/** Whether an event deserves a browser notification: someone else's message in a thread not
 * in front of the viewer (or the tab hidden), a hand raised by someone else. */
export function noticeOf(
  name: string,
  data: Record<string, any>,
  viewer: string,
  openThread: string | null,
  hidden: boolean,
): { kind: "message" | "broadcast" | "hand"; who: string; text: string; tag: string } | null {
  if (name === "im.message_posted") {
    const { thread, message } = data;
    if (message.author.id === viewer) return null;
    if (thread.kind === "direct" && !thread.users.some((u: { id: string }) => u.id === viewer)) return null;
    if (!hidden && openThread === thread.id) return null;
    return {
      kind: message.broadcast ? "broadcast" : "message",
      who: message.author.display_name,
      text: message.body,
      tag: `im-${thread.id}`,
    };
  }
  if (name === "im.hand_raised" && data.hand.user.id !== viewer)
    return { kind: "hand", who: data.hand.user.display_name, text: data.hand.note ?? "", tag: `hand-${data.hand.user.id}` };
  return null;
}
