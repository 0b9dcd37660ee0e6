import { describe, expect, it } from "vitest";
import { comparison, dayIn, effectOf, forecastDays, forecastLabel, formatCell, sourceBody, yesterday, type Cell } from "./whatIf";

const cell = (mean: number, half: number): Cell => ({ mean, half_width: half, ci_low: mean - half, ci_high: mean + half });
const figures = (sl: number, asa: number, ab: number, answered: number, half = 0.01) => ({
  service_level: cell(sl, half),
  asa: cell(asa, half),
  abandon_rate: cell(ab, half),
  answered: cell(answered, half),
});

describe("effectOf", () => {
  it("tells better from worse only when the interval excludes zero", () => {
    expect(effectOf("service_level", cell(0.05, 0.02))).toBe("better");
    expect(effectOf("service_level", cell(-0.05, 0.02))).toBe("worse");
    expect(effectOf("service_level", cell(0.01, 0.02))).toBe("none");
    expect(effectOf("asa", cell(-3, 1))).toBe("better"); // less wait is better
    expect(effectOf("abandon_rate", cell(0.02, 0.01))).toBe("worse");
    expect(effectOf("asa", null)).toBe("none");
    expect(effectOf("asa", { mean: 1, half_width: null, ci_low: null, ci_high: null })).toBe("none");
  });
});

describe("comparison", () => {
  const study = {
    runs: [
      { variant: "baseline", total: figures(0.8, 10, 0.05, 100), queues: [{ queue_id: "q1", ...figures(0.8, 10, 0.05, 100) }] },
      { variant: "change", total: figures(0.6, 30, 0.1, 90), queues: [{ queue_id: "q1", ...figures(0.6, 30, 0.1, 90) }] },
    ],
    differences: [{ variant: "change", total: figures(-0.2, 20, 0.05, -10), queues: [{ queue_id: "q1", ...figures(-0.2, 20, 0.05, -10) }] }],
  };
  it("gives the center first, then each queue, each figure with its effect", () => {
    const rows = comparison(study);
    expect(rows.map((r) => [r.queueId, r.figure])).toEqual([
      [null, "service_level"], [null, "asa"], [null, "abandon_rate"], [null, "answered"],
      ["q1", "service_level"], ["q1", "asa"], ["q1", "abandon_rate"], ["q1", "answered"],
    ]);
    expect(rows.every((r) => r.effect === "worse")).toBe(true);
    expect(rows[0].baseline?.mean).toBe(0.8);
    expect(rows[0].change?.mean).toBe(0.6);
  });
  it("is empty for anything that is not a study", () => {
    expect(comparison(null)).toEqual([]);
    expect(comparison({ runs: [] })).toEqual([]);
  });
});

describe("formatting", () => {
  it("shows rates in percent with their half-width", () => {
    expect(formatCell("service_level", cell(0.8, 0.05), "en")).toBe("80% ± 5%");
    expect(formatCell("asa", cell(12.34, 1.5), "en")).toBe("12.3 ± 1.5");
    expect(formatCell("asa", null, "en")).toBe("–");
  });
  it("takes yesterday across a month and a year", () => {
    expect(yesterday(new Date(2026, 0, 1, 12))).toBe("2025-12-31");
    expect(yesterday(new Date(2026, 2, 1, 0, 30))).toBe("2026-02-28");
  });
});

describe("the source of volumes", () => {
  const choice = { source: "recorded" as const, day: "2026-12-06", forecastId: "f1", forecastDay: "2026-12-08" };
  it("sends exactly one of day and forecast", () => {
    expect(sourceBody(choice)).toEqual({ day: "2026-12-06" });
    expect(sourceBody({ ...choice, source: "forecast" })).toEqual({ forecast: { id: "f1", day: "2026-12-08" } });
  });

  const forecast = { id: "f1", queue_id: "q1", channel: "chat", start: "2026-12-08T00:00:00Z", end: "2026-12-22T00:00:00Z", method: "ets" };
  it("names a forecast by queue, channel, days and method", () => {
    expect(forecastDays(forecast)).toEqual({ first: "2026-12-08", last: "2026-12-21" });
    expect(forecastLabel(forecast)).toBe("q1/chat, 2026-12-08 – 2026-12-21 (ets)");
  });
  it("keeps a day the forecast covers, else offers its first", () => {
    expect(dayIn(forecast, "2026-12-10")).toBe("2026-12-10");
    expect(dayIn(forecast, "2026-12-22")).toBe("2026-12-08");
    expect(dayIn(forecast, "")).toBe("2026-12-08");
  });
});
