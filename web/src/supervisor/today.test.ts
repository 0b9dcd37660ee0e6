import { describe, expect, it } from "vitest";
import { bars, percent, type QueueReport, tenantDay } from "./today";

function interval(start: string, end: string, offered: number, sl: number | null) {
  const sums = {
    offered, answered: 0, answered_in_sl: 0, abandoned: 0, short_abandoned: 0, abandoned_in_sl: 0,
    overflowed: 0, transferred: 0, handled: 0, wait_answered_seconds: 0, wait_abandoned_seconds: 0,
    talk_seconds: 0, hold_seconds: 0, wrap_seconds: 0,
  };
  return { start, end, sums, kpis: { service_level: sl, asa_seconds: null, aht_seconds: null, abandon_rate: null } };
}

describe("the wallboard's day", () => {
  it("is the tenant's local day, whatever the viewer's zone", () => {
    // 23:30 UTC on 31 Dec is already 1 January in Riga (UTC+2), still 31 December in New York.
    const now = new Date("2026-12-31T23:30:00Z");
    expect(tenantDay("Europe/Riga", now)).toEqual({ start: "2027-01-01T00:00:00", end: "2027-01-02T00:00:00" });
    expect(tenantDay("America/New_York", now)).toEqual({ start: "2026-12-31T00:00:00", end: "2027-01-01T00:00:00" });
    // The day the clocks go forward is still one calendar day.
    expect(tenantDay("Europe/Riga", new Date("2026-03-29T12:00:00Z"))).toEqual({
      start: "2026-03-29T00:00:00",
      end: "2026-03-30T00:00:00",
    });
  });

  it("draws the hours up to now, labelled in the tenant's zone", () => {
    const report = {
      timezone: "Europe/Riga",
      intervals: [
        interval("2026-12-06T07:00:00Z", "2026-12-06T08:00:00Z", 4, 0.75),
        interval("2026-12-06T08:00:00Z", "2026-12-06T09:00:00Z", 2, null),
        interval("2026-12-06T09:00:00Z", "2026-12-06T10:00:00Z", 0, null),
      ],
    } as unknown as QueueReport;
    expect(bars(report, new Date("2026-12-06T08:30:00Z"))).toEqual([
      { label: "09", offered: 4, serviceLevel: 0.75 },
      { label: "10", offered: 2, serviceLevel: null },
    ]);
  });

  it("shows shares as percentages", () => {
    expect(percent(0.8125)).toBe("81.3 %");
    expect(percent(null)).toBe("—");
  });
});
