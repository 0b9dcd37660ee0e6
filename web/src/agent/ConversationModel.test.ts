import { describe, expect, it } from "vitest";
import type { EventMessage } from "../realtime/types";
import { changesViewers, concerns, conversationOf, countUnread, isDigital, isWhisper, othersViewing, templates, templatesOnly, tick, type Conversation, type Message } from "./ConversationModel";

function conversation(over: Partial<Conversation> = {}, window: Partial<Conversation["reply_window"]> = {}): Conversation {
  return {
    id: "c1", account_id: "a", account_kind: "whatsapp", channel: "messaging", closed_at: null, contact_id: "k1",
    created_at: "2026-01-01T00:00:00Z", customer_id: null, language: null, language_source: null, last_agent_id: null,
    last_inbound_at: null, last_message_at: null, peer_id: "+371", peer_name: null, rounds: 1, status: "open",
    reply_window: { applies: false, expires_at: null, templates: [], templates_only: false, ...window },
    ...over,
  };
}

function message(over: Partial<Message>): Message {
  return {
    attachments: [], conversation_id: "c1", created_at: "2026-01-01T00:00:00Z", direction: "outbound", error: null,
    event: null, external_id: null, html: null, id: "m", kind: "message", sender_id: null, sender_type: "agent", whisper_to: null,
    status: "queued", status_times: {}, template: null, text: "hi", ...over,
  };
}

function event(name: string, data: Record<string, unknown>): EventMessage {
  return { type: "event", id: 1, event: name, version: 1, occurred_at: "", actor_id: null, subject: { type: "conversation", id: "x" }, data };
}

describe("conversation of a contact", () => {
  it("is the one whose current round is the contact", () => {
    const list = [conversation({ id: "a", contact_id: "k0" }), conversation({ id: "b", contact_id: "k1" })];
    expect(conversationOf(list, "k1")?.id).toBe("b");
    expect(conversationOf(list, "k9")).toBeUndefined();
  });

  it("only digital channels have one", () => {
    expect(["chat", "messaging", "email"].every(isDigital)).toBe(true);
    expect(isDigital("voice")).toBe(false);
    expect(isDigital(null)).toBe(false);
  });
});

describe("events that mean: read it again", () => {
  it("are conversation events of this conversation, or of this contact before it is known", () => {
    expect(concerns(event("conversation.message_added", { conversation_id: "c1" }), "c1", "k1")).toBe(true);
    expect(concerns(event("conversation.message_added", { conversation_id: "c2" }), "c1", "k1")).toBe(false);
    expect(concerns(event("conversation.contact_opened", { conversation_id: "c2", contact_id: "k1" }), null, "k1")).toBe(true);
    expect(concerns(event("routing.contact_ended", { contact_id: "k1" }), "c1", "k1")).toBe(false);
  });
});

describe("delivery ticks", () => {
  it("follow the outbound message's status; inbound messages and notes have none", () => {
    expect(tick(message({ status: "queued" }))).toBe("pending");
    for (const s of ["sent", "delivered", "read", "failed"]) expect(tick(message({ status: s }))).toBe(s);
    expect(tick(message({ direction: "inbound", status: "received" }))).toBeNull();
    expect(tick(message({ kind: "note", direction: "internal", status: "stored" }))).toBeNull();
  });
});

describe("the service window", () => {
  const now = Date.parse("2026-01-02T12:00:00Z");
  it("does not apply to channels without one", () => {
    expect(templatesOnly(conversation(), now)).toBe(false);
  });
  it("is closed when the server says so or its end has passed while the screen was open", () => {
    expect(templatesOnly(conversation({}, { applies: true, templates_only: true }), now)).toBe(true);
    expect(templatesOnly(conversation({}, { applies: true, expires_at: "2026-01-02T11:59:59Z" }), now)).toBe(true);
    expect(templatesOnly(conversation({}, { applies: true, expires_at: "2026-01-02T13:00:00Z" }), now)).toBe(false);
  });
  it("lists the account's well-formed templates with their parameter count", () => {
    const c = conversation({}, { applies: true, templates: [{ name: "follow_up", language: "de", parameters: 1, description: "1: order" }, { name: "hello", language: "en" }, { language: "lv" }] });
    expect(templates(c)).toEqual([
      { name: "follow_up", language: "de", parameters: 1, description: "1: order" },
      { name: "hello", language: "en", parameters: 0, description: "" },
    ]);
  });
});

describe("supervision on the agent's side", () => {
  it("tells a whisper from an ordinary note", () => {
    expect(isWhisper(message({ kind: "note", direction: "internal", whisper_to: "a1" }))).toBe(true);
    expect(isWhisper(message({ kind: "note", direction: "internal" }))).toBe(false);
    expect(isWhisper(message({ kind: "message", whisper_to: null }))).toBe(false);
  });

  it("shows the others who view, not oneself", () => {
    const viewers = [
      { user_id: "me", name: "Anna", role: "agent" as const, since: "" },
      { user_id: "s", name: "Sam", role: "supervisor" as const, since: "" },
    ];
    expect(othersViewing(viewers, "me").map((v) => v.name)).toEqual(["Sam"]);
    expect(changesViewers(event("conversation.viewing_started", { conversation_id: "c1" }), "c1")).toBe(true);
    expect(changesViewers(event("conversation.viewing_stopped", { conversation_id: "c2" }), "c1")).toBe(false);
    expect(changesViewers(event("conversation.message_added", { conversation_id: "c1" }), "c1")).toBe(false);
  });

  it("counts a customer's messages for the tabs not in front", () => {
    const inbound = (contact: string) => event("conversation.message_added", { contact_id: contact, direction: "inbound" });
    let counts = countUnread({}, inbound("k2"), "k1");
    counts = countUnread(counts, inbound("k2"), "k1");
    counts = countUnread(counts, inbound("k1"), "k1"); // in front: read as it arrives
    counts = countUnread(counts, event("conversation.message_added", { contact_id: "k2", direction: "outbound" }), "k1");
    expect(counts).toEqual({ k2: 2 });
  });
});
