// The transcript as the widget holds it: messages by id, in order, each once. The socket's
// snapshot replaces it; events and the answers to the visitor's own sends are merged in, and a
// message the visitor is still sending (known by its client id) is replaced by the stored one.
import type { ChatMessage, SurveyForm } from "./api";

export interface Pending {
  clientId: string;
  text: string;
  failed?: string;
}

export class Transcript {
  private byId = new Map<string, ChatMessage>();
  pending: Pending[] = [];

  get messages(): ChatMessage[] {
    return [...this.byId.values()].sort((a, b) =>
      a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1,
    );
  }

  replace(messages: ChatMessage[]): void {
    this.byId.clear();
    messages.forEach((m) => this.merge(m));
  }

  merge(message: ChatMessage): void {
    this.byId.set(message.id, message);
    if (message.client_id) this.pending = this.pending.filter((p) => p.clientId !== message.client_id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  unreadFromAgent(reported: Set<string>): string[] {
    return this.messages
      .filter((m) => m.from === "agent" && m.status !== "read" && !reported.has(m.id))
      .map((m) => m.id);
  }
}

// A survey invitation (form "survey"): its words and the link to the survey page, which the
// widget shows as a button rather than as a bare address.
export function surveyPrompt(text: string | null): { words: string; url: string | null } {
  const url = (text ?? "").match(/https?:\/\/\S+\/s\/[A-Za-z0-9_-]+/)?.[0] ?? null;
  return { words: (url ? (text ?? "").replace(url, "") : (text ?? "")).trim(), url };
}

export function surveyToken(url: string): string | null {
  return url.match(/\/s\/([A-Za-z0-9_-]+)$/)?.[1] ?? null;
}

// What the visitor chose, as the answer's body: scores as numbers, text as given, unanswered
// questions left out.
export function surveyAnswers(form: SurveyForm, values: Record<string, string>): Record<string, number | string> {
  const answers: Record<string, number | string> = {};
  for (const q of form.questions) {
    const value = (values[q.id] ?? "").trim();
    if (value) answers[q.id] = q.kind === "text" ? value : Number(value);
  }
  return answers;
}

// The choices of a scored question: its scale's numbers, or for a `resolved` question yes (1)
// and no (0), shown in words (`word`: the widget's text key; null: the number itself).
export function surveyChoices(q: SurveyForm["questions"][number]): { value: string; word: "surveyYes" | "surveyNo" | null }[] {
  if (q.kind === "resolved") return [{ value: "1", word: "surveyYes" }, { value: "0", word: "surveyNo" }];
  const low = q.min ?? 0;
  return Array.from({ length: (q.max ?? 0) - low + 1 }, (_, i) => ({ value: String(low + i), word: null }));
}
