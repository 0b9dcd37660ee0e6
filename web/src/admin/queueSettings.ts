// A queue's hours, holidays and overflow actions as the form edits them (text per field) and as
// the API takes them (pure: tested in vitest). The form never judges a value itself: what it
// cannot read it sends as typed, and the API's refusal is shown on the field it names.
import type { Schemas } from "../api/client";
import { words } from "./fields";

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const OVERFLOW_KINDS = ["queue", "voicemail", "callback", "disconnect"] as const;

type Hours = Schemas["HoursIn"];
type Overflow = Schemas["OverflowIn"];

export interface HoursDraft {
  enabled: boolean;
  timezone: string;
  /** Per weekday: "08:00-12:00, 13:00-18:00"; empty: closed. */
  days: Record<Weekday, string>;
  /** Dates separated by commas, spaces or lines: "2026-12-24, 2026-12-31". */
  holidays: string;
  country: string;
  subdivision: string;
}

export interface OverflowDraft {
  kind: "" | (typeof OVERFLOW_KINDS)[number];
  queueId: string;
  message: string;
}

const NO_DAYS = Object.fromEntries(WEEKDAYS.map((d) => [d, ""])) as Record<Weekday, string>;

export function emptyHours(timezone = "UTC"): HoursDraft {
  return { enabled: false, timezone, days: { ...NO_DAYS }, holidays: "", country: "", subdivision: "" };
}

/** "08:00-12:00, 13:00-18:00" → [["08:00","12:00"], ["13:00","18:00"]]; a part without a dash
 * is sent as [part, ""] so that the API names it. */
export function intervalsOf(text: string): string[][] {
  return text
    .split(/[,;\n]+/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [start, ...rest] = part.split(/\s*[-–]\s*/);
      return [start.trim(), rest.join("-").trim()];
    });
}

export function intervalsText(intervals: string[][] | undefined): string {
  return (intervals ?? []).map(([start, end]) => `${start}-${end}`).join(", ");
}

export function hoursDraft(hours: Hours | null | undefined, fallbackZone = "UTC"): HoursDraft {
  if (!hours) return emptyHours(fallbackZone);
  const weekly = (hours.weekly ?? {}) as Partial<Record<Weekday, string[][]>>;
  return {
    enabled: true,
    timezone: hours.timezone,
    days: Object.fromEntries(WEEKDAYS.map((d) => [d, intervalsText(weekly[d])])) as Record<Weekday, string>,
    holidays: (hours.holidays ?? []).join(", "),
    country: hours.holiday_country ?? "",
    subdivision: hours.holiday_subdivision ?? "",
  };
}

/** The API's `hours` (null: open around the clock). Closed days are left out. */
export function hoursJson(draft: HoursDraft): Hours | null {
  if (!draft.enabled) return null;
  const weekly: Partial<Record<Weekday, string[][]>> = {};
  for (const day of WEEKDAYS) {
    const intervals = intervalsOf(draft.days[day]);
    if (intervals.length) weekly[day] = intervals;
  }
  return {
    timezone: draft.timezone.trim(),
    weekly,
    holidays: words(draft.holidays),
    holiday_country: draft.country.trim() || null,
    holiday_subdivision: draft.subdivision.trim() || null,
  };
}

export function overflowDraft(action: Overflow | null | undefined): OverflowDraft {
  return { kind: action?.kind ?? "", queueId: action?.queue_id ?? "", message: action?.message ?? "" };
}

/** The API's overflow action (null: none). Only a queue overflow names a queue. */
export function overflowJson(draft: OverflowDraft): Overflow | null {
  if (draft.kind === "") return null;
  const action: Overflow = { kind: draft.kind };
  if (draft.kind === "queue") action.queue_id = draft.queueId.trim() || null;
  if (draft.message.trim()) action.message = draft.message;
  return action;
}

/** The first refusal for a field or anything under it ("hours.weekly.mon" for
 * "hours.weekly.mon.0.1"), so a part of a value is reported on the input that holds it. */
export function errorUnder(errors: Record<string, string>, field: string): string | undefined {
  if (errors[field]) return errors[field];
  const key = Object.keys(errors).find((k) => k.startsWith(`${field}.`));
  return key === undefined ? undefined : errors[key];
}

/** The refusals without those of `field` and its parts: an input the admin changes is no
 * longer marked with what the server said about its old value. */
export function withoutErrors(errors: Record<string, string>, field: string | undefined): Record<string, string> {
  if (!field || errorUnder(errors, field) === undefined) return errors;
  return Object.fromEntries(Object.entries(errors).filter(([k]) => k !== field && !k.startsWith(`${field}.`)));
}
