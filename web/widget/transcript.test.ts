import { describe, expect, it } from "vitest";
import type { ChatMessage } from "./api";
import { Connection, type Handlers } from "./connection";
import { surveyAnswers, surveyChoices, surveyPrompt, surveyToken, Transcript } from "./transcript";

function message(id: string, at: string, extra: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id,
    direction: "inbound",
    from: "visitor",
    text: id,
    html: null,
    form: null,
    client_id: null,
    status: "received",
    created_at: at,
    attachments: [],
    ...extra,
  };
}

describe("Transcript", () => {
  it("holds each message once, in order, and replaces a pending copy by the stored one", () => {
    const t = new Transcript();
    t.pending.push({ clientId: "c1", text: "hi" });
    t.merge(message("b", "2026-12-06T10:00:02"));
    t.merge(message("a", "2026-12-06T10:00:01", { client_id: "c1" }));
    t.merge(message("a", "2026-12-06T10:00:01", { client_id: "c1" }));
    expect(t.messages.map((m) => m.id)).toEqual(["a", "b"]);
    expect(t.pending).toEqual([]);
  });

  it("reports agents' unread messages once", () => {
    const t = new Transcript();
    t.replace([message("x", "1", { from: "agent", direction: "outbound", status: "sent" })]);
    const reported = new Set<string>();
    expect(t.unreadFromAgent(reported)).toEqual(["x"]);
    reported.add("x");
    expect(t.unreadFromAgent(reported)).toEqual([]);
  });
});

describe("Connection", () => {
  it("drops events at or below its last id and resumes from it", () => {
    const got: string[] = [];
    const handlers: Handlers = {
      onSnapshot: (ms) => ms.forEach((m) => got.push(`snap:${m.id}`)),
      onMessage: (m) => got.push(m.id),
      onClosed: () => got.push("closed"),
      onTyping: () => undefined,
      onQueue: () => undefined,
      onState: () => undefined,
    };
    const sent: string[] = [];
    const fake = { send: (s: string) => sent.push(s), close: () => undefined, readyState: 1 } as unknown;
    const c = new Connection("ws://x", () => ({ visitor_token: "t" }), handlers, () => fake as WebSocket);
    c.start();
    (fake as { onopen: () => void }).onopen();
    expect(JSON.parse(sent[0])).toEqual({ visitor_token: "t", type: "register", last_event_id: null });
    c.receive({ type: "snapshot", last_event_id: 5, messages: [message("a", "1")] });
    c.receive({ type: "event", id: 4, event: "message", data: message("old", "0") });
    c.receive({ type: "event", id: 7, event: "message", data: message("b", "2") });
    c.receive({ type: "event", id: 7, event: "message", data: message("b", "2") });
    expect(got).toEqual(["snap:a", "b"]);
    expect(c.lastEventId).toBe(7);
    c.stop();
  });
});

describe("surveyPrompt", () => {
  it("splits a survey invitation into its words and its link", () => {
    const text = "How did we do?\nhttps://desk.example.com/s/AbC_12-x";
    expect(surveyPrompt(text)).toEqual({ words: "How did we do?", url: "https://desk.example.com/s/AbC_12-x" });
    expect(surveyPrompt("No link here")).toEqual({ words: "No link here", url: null });
  });
});

describe("survey answers", () => {
  it("takes the token from the link and sends scores as numbers, text as text, blanks not at all", () => {
    expect(surveyToken("https://desk.example.com/s/AbC_12-x")).toBe("AbC_12-x");
    const q = (id: string, kind: "csat" | "nps" | "ces" | "text") => ({
      id,
      kind,
      text: id,
      required: false,
      min: null,
      max: null,
    });
    const form = {
      survey: "s",
      intro: null,
      language: "en",
      expires_at: null,
      questions: [q("overall", "csat"), q("recommend", "nps"), q("comment", "text"), q("effort", "ces")],
    };
    expect(surveyAnswers(form, { overall: "4", recommend: "0", comment: " Fine ", effort: "" })).toEqual({
      overall: 4,
      recommend: 0,
      comment: "Fine",
    });
  });
});

describe("survey choices", () => {
  it("offers a scale's numbers, and yes/no in words for a resolved question", () => {
    const base = { id: "q", text: "q", required: false };
    expect(surveyChoices({ ...base, kind: "ces", min: 1, max: 3 })).toEqual([
      { value: "1", word: null },
      { value: "2", word: null },
      { value: "3", word: null },
    ]);
    expect(surveyChoices({ ...base, kind: "resolved", min: 0, max: 1 })).toEqual([
      { value: "1", word: "surveyYes" },
      { value: "0", word: "surveyNo" },
    ]);
  });
});
