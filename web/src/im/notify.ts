// Browser notifications for team messages and raised hands: only when the user allowed them
// (the panel's button asks), never instead of what the screen shows.
import { t } from "../i18n";
import type { DeskStore } from "../realtime/store";
import { noticeOf } from "./apply";
import { openThreadId } from "./ui";

export function notificationsSupported(): boolean {
  return typeof window !== "undefined" && "Notification" in window;
}

export function notificationsAllowed(): boolean {
  return notificationsSupported() && Notification.permission === "granted";
}

/** Notify of each event that deserves it, as long as the store lives. */
export function notifyFrom(store: DeskStore, viewer: string): () => void {
  return store.onEvent((message) => {
    if (!message.event.startsWith("im.") || !notificationsAllowed()) return;
    const notice = noticeOf(message.event, message.data, viewer, openThreadId(), document.hidden);
    if (!notice) return;
    const title = t(`im.notify.${notice.kind}`, { who: notice.who });
    try {
      new Notification(title, { body: notice.text, tag: notice.tag });
    } catch {
      // Some browsers only allow notifications from a service worker: the screen shows it.
    }
  });
}
