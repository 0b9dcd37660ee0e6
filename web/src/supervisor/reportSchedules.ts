// The scheduled report emails' form as the API takes it, and what the form checks before it
// asks (pure: tested in vitest). The server checks it all again (the 422 names the field).
import type { Schemas } from "../api/client";

export type Schedule = Schemas["KpiReportScheduleOut"];
export type ScheduleIn = Schemas["KpiReportScheduleIn"];
export type Run = Schemas["KpiReportRunOut"];

export const PERIODS = ["previous_day", "previous_week", "previous_month"] as const;
export const CADENCES = ["daily", "weekly", "monthly"] as const;
export const MAX_RECIPIENTS = 50;
// The languages a report mail can be written in (the product's, as the screens').
export const MAIL_LANGUAGES = ["en", "de", "es", "lv"] as const;
export type MailLanguage = (typeof MAIL_LANGUAGES)[number];

export interface Draft {
  id: string | null;
  version: number | null;
  name: string;
  report: ScheduleIn["report"];
  queue: string; // "" for every queue the author sees
  agent: string;
  interval: NonNullable<ScheduleIn["interval"]>;
  period: ScheduleIn["period"];
  format: "csv" | "xlsx";
  cadence: ScheduleIn["cadence"];
  weekday: number;
  at: string;
  recipients: string; // one address a line (or separated by commas)
  sender: string;
  language: MailLanguage;
}

/** A new schedule: its mail in `language` (the form passes the screens' language, which
 * whoever adds it most likely reads; it is shown and can be changed before saving). */
export function emptyDraft(sender = "", language: MailLanguage = "en"): Draft {
  return {
    id: null,
    version: null,
    name: "",
    report: "queues",
    queue: "",
    agent: "",
    interval: "60m",
    period: "previous_day",
    format: "csv",
    cadence: "daily",
    weekday: 0,
    at: "07:00",
    recipients: "",
    sender,
    language,
  };
}

export function draftOf(s: Schedule): Draft {
  return {
    id: s.id,
    version: s.version,
    name: s.name,
    report: s.report,
    queue: s.queue_id ?? "",
    agent: s.agent_id ?? "",
    interval: s.interval,
    period: s.period,
    format: s.format,
    cadence: s.cadence,
    weekday: s.weekday ?? 0,
    at: s.at,
    recipients: s.recipients.join("\n"),
    sender: s.sender_address,
    language: s.language,
  };
}

export function addresses(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((a) => a.trim())
    .filter(Boolean);
}

const ADDRESS = /^[^@\s<>"',;]{1,64}@[A-Za-z0-9.-]{1,189}$/;

/** The body the API takes: only the filters the report has, the weekday only when weekly. */
export function bodyOf(d: Draft): ScheduleIn {
  const body: ScheduleIn = {
    name: d.name.trim(),
    report: d.report,
    period: d.period,
    format: d.format,
    cadence: d.cadence,
    at: d.at,
    // The contact report has no intervals (the API keeps it, unused).
    interval: d.interval,
    recipients: addresses(d.recipients),
    sender_address: d.sender.trim(),
    language: d.language,
  };
  if (d.report !== "agents" && d.queue) body.queue_id = d.queue;
  if (d.report === "agents" && d.agent) body.agent_id = d.agent;
  if (d.cadence === "weekly") body.weekday = d.weekday;
  if (d.version !== null) body.version = d.version;
  return body;
}

export type Problem = "required" | "address" | "tooMany" | "twice" | "time";

/** What the form refuses before asking, by the API's field names. */
export function check(d: Draft): Record<string, Problem> {
  const found: Record<string, Problem> = {};
  if (!d.name.trim()) found.name = "required";
  if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(d.at)) found.at = "time";
  const list = addresses(d.recipients);
  if (list.length === 0) found.recipients = "required";
  else if (list.length > MAX_RECIPIENTS) found.recipients = "tooMany";
  else {
    const seen = new Set<string>();
    for (const a of list) {
      if (!ADDRESS.test(a)) found.recipients = "address";
      else if (seen.has(a.toLowerCase())) found.recipients = "twice";
      if (found.recipients) break;
      seen.add(a.toLowerCase());
    }
  }
  if (!d.sender.trim()) found.sender_address = "required";
  else if (!ADDRESS.test(d.sender.trim())) found.sender_address = "address";
  return found;
}
