import { describe, expect, it } from "vitest";
import {
  type Choice,
  type DispositionsReport,
  exportUrl,
  handledPoints,
  intervalLabel,
  nextDay,
  points,
  type QueueReport,
  rangeOf,
  reportQuery,
  switchMatrix,
  type TeamsReport,
} from "./reports";

const choice: Choice = { kind: "queues", from: "2026-03-28", to: "2026-03-29", interval: "60m", queue: "" };

function interval(start: string, offered: number, answered: number, sl: number | null) {
  const sums = {
    offered, answered, answered_in_sl: 0, abandoned: 0, short_abandoned: 0, abandoned_in_sl: 0,
    overflowed: 0, transferred: 0, handled: answered, wait_answered_seconds: 0, wait_abandoned_seconds: 0,
    talk_seconds: 0, hold_seconds: 0, wrap_seconds: 0,
  };
  return { start, end: start, sums, kpis: { service_level: sl, asa_seconds: null, aht_seconds: null, abandon_rate: null } };
}

describe("the reports' range", () => {
  it("takes both days whole, in the tenant's zone, across month ends and DST", () => {
    expect(nextDay("2026-12-31")).toBe("2027-01-01");
    expect(nextDay("2028-02-28")).toBe("2028-02-29");
    expect(rangeOf(choice)).toEqual({ start: "2026-03-28T00:00:00", end: "2026-03-30T00:00:00" });
    expect(rangeOf({ from: "2026-03-02", to: "2026-03-02" })).toEqual({ start: "2026-03-02T00:00:00", end: "2026-03-03T00:00:00" });
  });

  it("names what is wrong", () => {
    expect(rangeOf({ from: "2026-03-02", to: "2026-03-01" })).toEqual({ error: "order" });
    expect(rangeOf({ from: "", to: "2026-03-01" })).toEqual({ error: "dates" });
  });
});

describe("the report's query and downloads", () => {
  it("sends the interval and queue only to the reports that have them", () => {
    expect(reportQuery({ ...choice, queue: "sales" })).toEqual({
      start: "2026-03-28T00:00:00", end: "2026-03-30T00:00:00", interval: "60m", queue_id: "sales",
    });
    expect(reportQuery({ ...choice, kind: "agents", queue: "sales" })).not.toHaveProperty("queue_id");
    expect(reportQuery({ ...choice, kind: "contacts", queue: "sales" })).toEqual({
      start: "2026-03-28T00:00:00", end: "2026-03-30T00:00:00", queue_id: "sales",
    });
  });

  it("downloads the same report as a file", () => {
    const url = new URL(exportUrl({ ...choice, queue: "a&b" }, "xlsx"), "http://x");
    expect(url.pathname).toBe("/api/v1/analytics/queues/export");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      start: "2026-03-28T00:00:00", end: "2026-03-30T00:00:00", interval: "60m", queue_id: "a&b", format: "xlsx",
    });
    expect(exportUrl({ ...choice, kind: "contacts" }, "csv")).toMatch(/^\/api\/v1\/analytics\/contacts\/export\?.*format=csv/);
  });
});

describe("the chart's points", () => {
  it("label intervals in the tenant's zone, with the day when the range has several", () => {
    expect(intervalLabel("2026-03-02T09:00:00Z", "60m", "Europe/Riga", false)).toBe("11:00");
    expect(intervalLabel("2026-03-02T09:00:00Z", "15m", "Europe/Riga", true)).toBe("03-02 11:00");
    expect(intervalLabel("2026-03-01T22:00:00Z", "day", "Europe/Riga", true)).toBe("03-02");
    expect(intervalLabel("2026-02-28T22:00:00Z", "month", "Europe/Riga", true)).toBe("2026-03");
  });

  it("carry offered, answered and service level per interval", () => {
    const report = {
      start: "2026-03-02T08:00:00Z", end: "2026-03-02T10:00:00Z", interval: "60m", timezone: "UTC",
      queue_id: null, channel: null,
      intervals: [interval("2026-03-02T08:00:00Z", 4, 3, 0.75), interval("2026-03-02T09:00:00Z", 0, 0, null)],
      total: interval("2026-03-02T08:00:00Z", 4, 3, 0.75),
    } as QueueReport;
    expect(points(report)).toEqual([
      { start: "2026-03-02T08:00:00Z", label: "08:00", offered: 4, answered: 3, serviceLevel: 0.75 },
      { start: "2026-03-02T09:00:00Z", label: "09:00", offered: 0, answered: 0, serviceLevel: null },
    ]);
  });
});

describe("the team and disposition reports", () => {
  it("narrow dispositions by queue, not teams; both have an interval and a file", () => {
    expect(reportQuery({ ...choice, kind: "dispositions", queue: "sales" })).toEqual({
      start: "2026-03-28T00:00:00", end: "2026-03-30T00:00:00", interval: "60m", queue_id: "sales",
    });
    expect(reportQuery({ ...choice, kind: "teams", queue: "sales" })).toEqual({
      start: "2026-03-28T00:00:00", end: "2026-03-30T00:00:00", interval: "60m",
    });
    expect(exportUrl({ ...choice, kind: "teams" }, "csv")).toMatch(/^\/api\/v1\/analytics\/teams\/export\?.*format=csv/);
    expect(exportUrl({ ...choice, kind: "dispositions" }, "xlsx")).toMatch(/^\/api\/v1\/analytics\/dispositions\/export\?.*format=xlsx/);
  });

  const part = (start: string, handled: number) => ({
    start, end: start, sums: { handled, talk_seconds: 0, hold_seconds: 0, wrap_seconds: 0, handle_seconds: 0 },
    kpis: { aht_seconds: null },
  });
  const meta = { start: "2026-03-02T08:00:00Z", end: "2026-03-02T10:00:00Z", interval: "60m" as const, timezone: "UTC" };

  it("chart the contacts handled per interval over every row shown", () => {
    const report = {
      ...meta, queue_id: null,
      dispositions: [
        { disposition: "sale", intervals: [part("2026-03-02T08:00:00Z", 2), part("2026-03-02T09:00:00Z", 0)], total: part(meta.start, 2) },
        { disposition: null, intervals: [part("2026-03-02T08:00:00Z", 1), part("2026-03-02T09:00:00Z", 3)], total: part(meta.start, 4) },
      ],
      total: part(meta.start, 6),
    } as DispositionsReport;
    expect(handledPoints(report)).toEqual([
      { start: "2026-03-02T08:00:00Z", label: "08:00", handled: 3 },
      { start: "2026-03-02T09:00:00Z", label: "09:00", handled: 3 },
    ]);
    expect(handledPoints({ ...meta, teams: [] } as TeamsReport)).toEqual([]);
  });
});

describe("the journeys", () => {
  it("ask with their rows and queue, never an interval, and download the same", () => {
    expect(reportQuery({ ...choice, kind: "journeys", queue: "sales", by: "channel" })).toEqual({
      start: "2026-03-28T00:00:00", end: "2026-03-30T00:00:00", queue_id: "sales", by: "channel",
    });
    expect(reportQuery({ ...choice, kind: "journeys" })).toEqual({
      start: "2026-03-28T00:00:00", end: "2026-03-30T00:00:00", by: "total",
    });
    const url = new URL(exportUrl({ ...choice, kind: "journeys", by: "queue" }, "csv"), "http://x");
    expect(url.pathname).toBe("/api/v1/analytics/journeys/export");
    expect(url.searchParams.get("by")).toBe("queue");
  });

  it("lay the switches out from (rows) -> to (columns), with totals", () => {
    const matrix = switchMatrix({
      switch_matrix: [
        { from_channel: "messaging", to_channel: "voice", switches: 2 },
        { from_channel: "chat", to_channel: "voice", switches: 1 },
        { from_channel: "voice", to_channel: "email", switches: 3 },
      ],
    });
    expect(matrix.from).toEqual(["chat", "messaging", "voice"]);
    expect(matrix.to).toEqual(["email", "voice"]);
    expect(matrix.counts).toEqual([[0, 1], [0, 2], [3, 0]]);
    expect(matrix.rowTotals).toEqual([1, 2, 3]);
    expect(matrix.columnTotals).toEqual([3, 3]);
    expect(matrix.total).toBe(6);
    expect(switchMatrix({ switch_matrix: [] })).toEqual({ from: [], to: [], counts: [], rowTotals: [], columnTotals: [], total: 0 });
  });
});
