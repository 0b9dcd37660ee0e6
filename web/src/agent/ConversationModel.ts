// The conversation of a digital contact, as the desk shows it: which conversation a routing
// contact is, which socket events concern it, what a message's delivery status looks like and
// whether only a template may be sent. Pure (no HTTP, no DOM): ConversationView.tsx uses it.
import type { Schemas } from "../api/client";
import type { EventMessage } from "../realtime/types";

export type Conversation = Schemas["ConversationOut"];
export type Message = Schemas["MessageOut"];

/** The channels whose contacts are conversations of the store (voice is not). */
export const DIGITAL = new Set(["chat", "messaging", "email"]);

export function isDigital(channel: string | null | undefined): boolean {
  return !!channel && DIGITAL.has(channel);
}

/** A routing contact is the current round of one conversation: the one carrying its id. */
export function conversationOf(list: Conversation[], contactId: string): Conversation | undefined {
  return list.find((c) => c.contact_id === contactId);
}

/** Does this socket event concern the shown conversation (or, before it is known, the contact)?
 * Events carry only ids: a concerning one means "read it again". */
export function concerns(message: EventMessage, conversationId: string | null, contactId: string): boolean {
  if (!message.event.startsWith("conversation.")) return false;
  const data = (message.data ?? {}) as { conversation_id?: string; contact_id?: string | null };
  if (conversationId && data.conversation_id === conversationId) return true;
  return data.contact_id === contactId;
}

export type Tick = "pending" | "sent" | "delivered" | "read" | "failed" | null;

/** The delivery mark of an outbound message (inbound messages and notes have none). */
export function tick(message: Message): Tick {
  if (message.direction !== "outbound" || message.kind !== "message") return null;
  switch (message.status) {
    case "sent":
    case "delivered":
    case "read":
    case "failed":
      return message.status;
    default:
      return "pending";
  }
}

export const TICK_MARK: Record<Exclude<Tick, null>, string> = {
  pending: "🕓",
  sent: "✓",
  delivered: "✓✓",
  read: "✓✓",
  failed: "!",
};

export interface Template {
  name: string;
  language: string;
  parameters: number;
  /** What the admin wrote it says and what its parameters are ("" when nothing). */
  description: string;
}

/** The account's templates as the reply window lists them (`parameters` is how many). */
export function templates(conversation: Conversation): Template[] {
  return conversation.reply_window.templates.flatMap((raw) => {
    const name = typeof raw.name === "string" ? raw.name : null;
    const language = typeof raw.language === "string" ? raw.language : null;
    if (!name || !language) return [];
    const count = Number(raw.parameters ?? 0);
    const description = typeof raw.description === "string" ? raw.description : "";
    return [{ name, language, parameters: Number.isFinite(count) && count > 0 ? Math.floor(count) : 0, description }];
  });
}

/** Only a template may go out now: the service window (WhatsApp's 24 hours) is closed. */
export function templatesOnly(conversation: Conversation, now: number = Date.now()): boolean {
  const window = conversation.reply_window;
  if (!window.applies) return false;
  if (window.templates_only) return true;
  return window.expires_at !== null && Date.parse(window.expires_at) <= now;
}

/** A template key for a <select>: name and language. */
export function templateKey(t: Template): string {
  return `${t.name}|${t.language}`;
}

export type Viewer = Schemas["ConversationViewerOut"];

/** A supervisor's whisper: a note addressed to the agent, never sent to the customer. */
export function isWhisper(message: Message): boolean {
  return message.kind === "note" && !!message.whisper_to;
}

/** Who else has the conversation open (the viewer is not told about themselves). */
export function othersViewing(viewers: Viewer[], me: string): Viewer[] {
  return viewers.filter((v) => v.user_id !== me);
}

/** Does this event change who views the conversation? */
export function changesViewers(message: EventMessage, conversationId: string): boolean {
  if (message.event !== "conversation.viewing_started" && message.event !== "conversation.viewing_stopped") return false;
  return (message.data as { conversation_id?: string }).conversation_id === conversationId;
}

/** Unread messages per contact tab: a customer's message counts for a tab not in front; showing
 * the tab clears its count. Pure: returns the new counts. */
export function countUnread(
  counts: Record<string, number>,
  message: EventMessage,
  shown: string | null,
): Record<string, number> {
  if (message.event !== "conversation.message_added") return counts;
  const data = message.data as { contact_id?: string | null; direction?: string };
  if (data.direction !== "inbound" || !data.contact_id || data.contact_id === shown) return counts;
  return { ...counts, [data.contact_id]: (counts[data.contact_id] ?? 0) + 1 };
}
