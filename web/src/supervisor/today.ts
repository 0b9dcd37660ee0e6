// The wallboard's "today": the KPI reports (GET /analytics/queues) for the tenant's day, per
// queue, with the hours for the chart. The reports take local times of the tenant's zone
// without an offset, on the 15-minute grid: a day is [midnight, next midnight).
import type { Schemas } from "../api/client";

export type QueueReport = Schemas["KpiQueueReport"];
export type QueueInterval = Schemas["KpiQueueInterval"];

/** The tenant's day around `now`: local midnight to the next one, as the report wants them. */
export function tenantDay(timeZone: string, now: Date = new Date()): { start: string; end: string } {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  // Calendar arithmetic on a UTC date: the next day of the month, month or year, whatever the zone.
  const next = new Date(Date.UTC(get("year"), get("month") - 1, get("day") + 1));
  const iso = (y: number, m: number, d: number) =>
    `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}T00:00:00`;
  return {
    start: iso(get("year"), get("month"), get("day")),
    end: iso(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate()),
  };
}

export interface Bar {
  label: string; // the hour, e.g. "09"
  offered: number;
  serviceLevel: number | null; // 0..1
}

/** One bar per interval up to the current one (later hours of the day are not drawn yet). */
export function bars(report: QueueReport, now: Date = new Date()): Bar[] {
  return report.intervals
    .filter((i) => Date.parse(i.start) <= now.getTime())
    .map((i) => ({
      label: hourLabel(i.start, report.timezone),
      offered: i.sums.offered,
      serviceLevel: i.kpis.service_level,
    }));
}

function hourLabel(start: string, timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", hourCycle: "h23" }).format(new Date(start));
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `${Math.round(value * 1000) / 10} %`;
}
