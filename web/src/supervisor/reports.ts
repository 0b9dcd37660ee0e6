// The Reports screen's pure parts: the chosen report as the API's query, the download links,
// and the chart's points. Dates are days of the tenant's zone (the reports take local times
// without an offset there): "from" 2026-03-02 to "to" 2026-03-03 is [2 March 00:00, 4 March
// 00:00), both days whole.
import type { Schemas } from "../api/client";

export type ReportKind = "queues" | "agents" | "teams" | "dispositions" | "contacts" | "journeys";
export const KINDS: ReportKind[] = ["queues", "agents", "teams", "dispositions", "contacts", "journeys"];
export type JourneyReport = Schemas["KpiJourneyReport"];
export type JourneyBy = "total" | "queue" | "channel";
export const JOURNEY_BY: JourneyBy[] = ["total", "channel", "queue"];
export type Interval = Schemas["KpiQueueReport"]["interval"];
export type FileFormat = "csv" | "xlsx";
export type QueueReport = Schemas["KpiQueueReport"];
export type TeamsReport = Schemas["KpiTeamsReport"];
export type DispositionsReport = Schemas["KpiDispositionsReport"];

export const INTERVALS: Interval[] = ["15m", "30m", "60m", "day", "week", "month"];

export interface Choice {
  kind: ReportKind;
  from: string; // YYYY-MM-DD
  to: string; // YYYY-MM-DD, inclusive
  interval: Interval;
  queue: string; // "" for every queue one may see
  by?: JourneyBy; // the journeys' rows (default: total)
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The day after `day` (YYYY-MM-DD), by calendar arithmetic (no zone, no DST). */
export function nextDay(day: string): string {
  const m = DAY.exec(day);
  if (!m) throw new Error(`not a day: ${day}`);
  const next = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1));
  return next.toISOString().slice(0, 10);
}

/** The range as the reports want it, or the reason it is not one ("dates" | "order"). */
export function rangeOf(choice: Pick<Choice, "from" | "to">): { start: string; end: string } | { error: "dates" | "order" } {
  if (!DAY.test(choice.from) || !DAY.test(choice.to)) return { error: "dates" };
  if (choice.to < choice.from) return { error: "order" };
  return { start: `${choice.from}T00:00:00`, end: `${nextDay(choice.to)}T00:00:00` };
}

/** The reports a queue narrows: the rest are per agent or team (by their own ids). */
export function takesQueue(kind: ReportKind): boolean {
  return kind === "queues" || kind === "dispositions" || kind === "contacts" || kind === "journeys";
}

/** The query of the chosen report (JSON and files alike): interval only where there is one. */
export function reportQuery(choice: Choice): Record<string, string> {
  const range = rangeOf(choice);
  if ("error" in range) throw new Error(range.error);
  const query: Record<string, string> = { start: range.start, end: range.end };
  if (choice.kind !== "contacts" && choice.kind !== "journeys") query.interval = choice.interval;
  if (choice.queue && takesQueue(choice.kind)) query.queue_id = choice.queue;
  if (choice.kind === "journeys") query.by = choice.by ?? "total";
  return query;
}

/** Where the chosen report downloads as a file (the session cookie is the credential). */
export function exportUrl(choice: Choice, format: FileFormat): string {
  const query = new URLSearchParams({ ...reportQuery(choice), format });
  return `/api/v1/analytics/${choice.kind}/export?${query}`;
}

export interface Point {
  start: string;
  label: string;
  offered: number;
  answered: number;
  serviceLevel: number | null; // 0..1
}

/** A label for an interval's start in the tenant's zone: the time within one day, the day
 * for days and weeks, the month for months; a range of several days adds the day to times. */
export function intervalLabel(start: string, interval: Interval, timeZone: string, severalDays: boolean): string {
  const at = new Date(start);
  const part = (options: Intl.DateTimeFormatOptions) =>
    new Intl.DateTimeFormat("en-CA", { timeZone, ...options }).format(at);
  if (interval === "month") return part({ year: "numeric", month: "2-digit" });
  const day = part({ month: "2-digit", day: "2-digit" });
  if (interval === "day" || interval === "week") return day;
  const time = new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(at);
  return severalDays ? `${day} ${time}` : time;
}

/** One point per interval of a queue report: what the chart draws. */
export function points(report: QueueReport): Point[] {
  const severalDays = Date.parse(report.end) - Date.parse(report.start) > 25 * 3600_000;
  return report.intervals.map((i) => ({
    start: i.start,
    label: intervalLabel(i.start, report.interval, report.timezone, severalDays),
    offered: i.sums.offered,
    answered: i.sums.answered,
    serviceLevel: i.kpis.service_level,
  }));
}

export interface HandledPoint {
  start: string;
  label: string;
  handled: number;
}

/** One point per interval of a team or disposition report: the contacts handled in it,
 * over every row (team or code) shown. Teams: an agent in two teams counts in both, as in
 * the table. */
export function handledPoints(report: TeamsReport | DispositionsReport): HandledPoint[] {
  const rows = "teams" in report ? report.teams : report.dispositions;
  const severalDays = Date.parse(report.end) - Date.parse(report.start) > 25 * 3600_000;
  const first = rows[0]?.intervals ?? [];
  return first.map((i, n) => ({
    start: i.start,
    label: intervalLabel(i.start, report.interval, report.timezone, severalDays),
    handled: rows.reduce((sum, row) => sum + row.intervals[n].sums.handled, 0),
  }));
}

export interface SwitchMatrix {
  from: string[]; // the rows: channels switched from, sorted
  to: string[]; // the columns: channels switched to, sorted
  counts: number[][]; // counts[i][j]: from[i] -> to[j] (0: none)
  rowTotals: number[];
  columnTotals: number[];
  total: number;
}

/** The journeys' from -> to switches as a matrix: one row per channel switched from, one
 * column per channel switched to (only channels with any), with the totals. */
export function switchMatrix(report: Pick<JourneyReport, "switch_matrix">): SwitchMatrix {
  const from = [...new Set(report.switch_matrix.map((s) => s.from_channel))].sort();
  const to = [...new Set(report.switch_matrix.map((s) => s.to_channel))].sort();
  const counts = from.map(() => to.map(() => 0));
  for (const s of report.switch_matrix) counts[from.indexOf(s.from_channel)][to.indexOf(s.to_channel)] += s.switches;
  const rowTotals = counts.map((row) => row.reduce((a, b) => a + b, 0));
  const columnTotals = to.map((_, j) => counts.reduce((a, row) => a + row[j], 0));
  return { from, to, counts, rowTotals, columnTotals, total: rowTotals.reduce((a, b) => a + b, 0) };
}
