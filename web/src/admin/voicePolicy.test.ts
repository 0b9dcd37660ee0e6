import { describe, expect, it } from "vitest";
import { consentDraft, consentJson, policyBody, policyDraft, type PolicyOut } from "./voicePolicy";

const STORED: PolicyOut = { record: "on_demand", consent_prompt: false, announce_every_s: 45, moh: "hold.wav", voicemail_queue: "vm", version: 3 };

describe("queue voice policy", () => {
  it("round-trips a stored policy on its version", () => {
    const { version, ...rest } = STORED;
    expect(policyBody(policyDraft(STORED), version)).toEqual({ ...rest, version: 3 });
  });

  it("sends the defaults as nulls: no announcements, the tenant's hold music, messages to the queue itself", () => {
    const draft = { ...policyDraft(STORED), announce: false, moh: "", voicemailQueue: "" };
    const body = policyBody(draft, 0);
    expect(body).toMatchObject({ announce_every_s: null, moh: null, voicemail_queue: null, version: 0 });
    // The longest wait is the routing queue's (ADR 0026): the form never sends one.
    expect("max_wait_s" in body).toBe(false);
  });

  it("offers an interval to switch announcements back on, and keeps text the server must refuse", () => {
    const off = policyDraft({ ...STORED, announce_every_s: null, record: "weird" });
    expect(off).toMatchObject({ announce: false, announceEvery: "60", record: "always" });
    expect(policyBody({ ...off, announce: true, announceEvery: "abc" }, 1).announce_every_s).toBe("abc");
  });
});

describe("recording consent prompt", () => {
  it("reads none, text and audio", () => {
    expect(consentDraft(null).kind).toBe("none");
    expect(consentDraft({ audio: "notice.wav" })).toMatchObject({ kind: "audio", audio: "notice.wav" });
    expect(consentDraft({ text: "Recorded.", language: "de" })).toMatchObject({ kind: "text", text: "Recorded.", language: "de" });
  });

  it("sends exactly one kind, and no language when it is the call's", () => {
    expect(consentJson({ kind: "none", text: "x", language: "", audio: "a.wav" })).toBeNull();
    expect(consentJson({ kind: "audio", text: "x", language: "de", audio: "a.wav" })).toEqual({ audio: "a.wav" });
    expect(consentJson({ kind: "text", text: "Hi", language: " ", audio: "a.wav" })).toEqual({ text: "Hi" });
    expect(consentJson({ kind: "text", text: "Hi", language: "lv", audio: "" })).toEqual({ text: "Hi", language: "lv" });
  });
});
