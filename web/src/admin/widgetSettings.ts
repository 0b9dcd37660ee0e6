// The chat widget's lists (pre-chat questions, business hours) and a WhatsApp number's message
// templates as the account form edits them, and as the API takes them (pure: tested in vitest).
// The API stays the judge: nothing here refuses, the rows go out as typed.
import { WEEKDAYS as DAYS, type Weekday as Day } from "./queueSettings";

export const QUESTION_TYPES = ["text", "email", "textarea", "language"] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

/** One pre-chat question (ChatPrechatField). */
export interface Question {
  key: string;
  label: string;
  type: QuestionType;
  required: boolean;
}

/** One opening span of a day, "09:00" to "17:30" ("24:00" ends the day). */
export interface Span {
  from: string;
  to: string;
}

/** Business hours (ChatBusinessHours), or always open: the zone and days are kept while
 * "always open" is ticked, so unticking it gives them back. */
export interface Hours {
  alwaysOpen: boolean;
  timezone: string;
  days: Record<Day, Span[]>;
}

/** One message template (TemplateDef); the parameter count as typed. */
export interface TemplateRow {
  name: string;
  language: string;
  parameters: string;
  description: string;
}

/** The server's default questions (ChatWidgetIn): a new widget asks the same. */
export const DEFAULT_QUESTIONS: Question[] = [
  { key: "name", label: "Name", type: "text", required: true },
  { key: "email", label: "Email", type: "email", required: false },
];

const record = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string => (typeof v === "string" ? v : v === null || v === undefined ? "" : String(v));

export function noDays(): Record<Day, Span[]> {
  return { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] };
}

/** The browser's own zone: where a new widget's hours start. */
export function localZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function alwaysOpen(timezone: string = localZone()): Hours {
  return { alwaysOpen: true, timezone, days: noDays() };
}

export function questionsOf(raw: unknown): Question[] {
  if (!Array.isArray(raw)) return DEFAULT_QUESTIONS.map((q) => ({ ...q }));
  return raw.map((item) => {
    const q = record(item);
    const type = QUESTION_TYPES.includes(q.type as QuestionType) ? (q.type as QuestionType) : "text";
    return { key: str(q.key), label: str(q.label), type, required: q.required === true };
  });
}

export function hoursOf(raw: unknown, fallbackZone: string = localZone()): Hours {
  if (!raw || typeof raw !== "object") return alwaysOpen(fallbackZone);
  const h = record(raw);
  const days = noDays();
  const given = record(h.days);
  for (const day of DAYS) {
    const spans = given[day];
    if (Array.isArray(spans)) days[day] = spans.map((s) => ({ from: str(Array.isArray(s) ? s[0] : ""), to: str(Array.isArray(s) ? s[1] : "") }));
  }
  return { alwaysOpen: false, timezone: str(h.timezone) || fallbackZone, days };
}

export function questionsBody(questions: Question[]): Question[] {
  return questions.map((q) => ({ key: q.key.trim(), label: q.label.trim(), type: q.type, required: q.required }));
}

/** ChatBusinessHours, or null (always open). A day without spans is closed and left out. */
export function hoursBody(hours: Hours): { timezone: string; days: Partial<Record<Day, [string, string][]>> } | null {
  if (hours.alwaysOpen) return null;
  const days: Partial<Record<Day, [string, string][]>> = {};
  for (const day of DAYS) {
    if (hours.days[day].length) days[day] = hours.days[day].map((s) => [s.from.trim(), s.to.trim()]);
  }
  return { timezone: hours.timezone.trim(), days };
}

/** Unticking "always open" on hours with no spans yet: weekdays nine to five to start from. */
export function opened(hours: Hours): Hours {
  const empty = DAYS.every((d) => hours.days[d].length === 0);
  if (!empty) return { ...hours, alwaysOpen: false };
  const days = noDays();
  for (const day of DAYS.slice(0, 5)) days[day] = [{ from: "09:00", to: "17:00" }];
  return { ...hours, alwaysOpen: false, days };
}

export function templatesOf(raw: unknown): TemplateRow[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((item) => {
    const t = record(item);
    return { name: str(t.name), language: str(t.language), parameters: str(t.parameters ?? 0), description: str(t.description) };
  });
}

/** TemplateDef bodies; a parameter count that is not a number goes as typed, for the API to
 * refuse on its field (never silently 0). */
export function templatesBody(rows: TemplateRow[]): { name: string; language: string; parameters: number | string; description: string }[] {
  return rows.map((r) => {
    const count = r.parameters.trim() === "" ? 0 : Number(r.parameters);
    return { name: r.name.trim(), language: r.language.trim(), parameters: Number.isInteger(count) ? count : r.parameters, description: r.description.trim() };
  });
}

/** The list with the item at `index` moved by `by` places (kept within the list). */
export function moved<T>(items: T[], index: number, by: number): T[] {
  const to = Math.max(0, Math.min(items.length - 1, index + by));
  if (to === index) return items;
  const copy = [...items];
  const [item] = copy.splice(index, 1);
  copy.splice(to, 0, item);
  return copy;
}

/** IANA zones to choose from (the browser's list, UTC first); typing another is possible and
 * the API judges it. */
export function timeZones(): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  const zones = supported ? supported("timeZone") : [];
  return ["UTC", ...zones.filter((z) => z !== "UTC")];
}

/** A span that ends before it starts, told while typing (the save's refusal says the same). */
export function backwards(span: Span): boolean {
  const clock = /^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/;
  return clock.test(span.from) && clock.test(span.to) && span.from >= span.to;
}
