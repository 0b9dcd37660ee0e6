// A queue's voice policy and the tenant's consent prompt as the forms hold them (text in
// inputs) and as the API takes them (pure: tested in vitest).

import { numberOrNull } from "./fields";

export const RECORD_MODES = ["always", "never", "on_demand"] as const;
export type RecordMode = (typeof RECORD_MODES)[number];

export interface PolicyOut {
  record: string;
  consent_prompt: boolean;
  announce_every_s: number | null;
  moh: string | null;
  voicemail_queue: string | null;
  version: number;
}

export interface PolicyDraft {
  record: RecordMode;
  consentPrompt: boolean;
  announce: boolean; // false: position never announced (null in the API)
  announceEvery: string;
  moh: string; // "": the tenant's default hold music
  voicemailQueue: string; // "": the queue itself
}

export function policyDraft(p: PolicyOut): PolicyDraft {
  return {
    record: (RECORD_MODES as readonly string[]).includes(p.record) ? (p.record as RecordMode) : "always",
    consentPrompt: p.consent_prompt,
    announce: p.announce_every_s != null,
    announceEvery: p.announce_every_s == null ? "60" : String(p.announce_every_s),
    moh: p.moh ?? "",
    voicemailQueue: p.voicemail_queue ?? "",
  };
}

/** The PUT body: the whole policy, on the version the form was filled from. A number typed
 * as text that is no number is sent as it is, so the server names the field it refuses. */
export function policyBody(d: PolicyDraft, version: number) {
  const number = (text: string) => numberOrNull(text) ?? (text.trim() === "" ? null : (text as unknown as number));
  return {
    record: d.record,
    consent_prompt: d.consentPrompt,
    announce_every_s: d.announce ? number(d.announceEvery) : null,
    moh: d.moh || null,
    voicemail_queue: d.voicemailQueue || null,
    version,
  };
}

export type ConsentKind = "none" | "text" | "audio";

export interface ConsentDraft {
  kind: ConsentKind;
  text: string;
  language: string; // "": the call's language
  audio: string;
}

export interface PromptJson {
  text?: string | null;
  language?: string | null;
  audio?: string | null;
}

export function consentDraft(p: PromptJson | null | undefined): ConsentDraft {
  if (!p) return { kind: "none", text: "", language: "", audio: "" };
  if (p.audio) return { kind: "audio", text: "", language: "", audio: p.audio };
  return { kind: "text", text: p.text ?? "", language: p.language ?? "", audio: "" };
}

/** The consent prompt as the API takes it: null for none; exactly one of text or audio. */
export function consentJson(d: ConsentDraft): PromptJson | null {
  if (d.kind === "none") return null;
  if (d.kind === "audio") return { audio: d.audio };
  return d.language.trim() ? { text: d.text, language: d.language.trim() } : { text: d.text };
}
