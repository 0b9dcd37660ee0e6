import { describe, expect, it } from "vitest";
import { type Accuracy, accuracyFigures, forecastLabel, type ForecastSummary, shareOf, signed } from "./accuracy";

const total: Accuracy["total"] = {
  forecast_volume: 110.25, actual_volume: 100, wape: 0.15, accuracy: 0.85, mape: 0.2, bias: 10.25, bias_ratio: 0.1025,
  forecast_aht: 300, actual_aht: 310, aht_bias: -10, aht_wape: 0.05, handled: 98,
};

describe("forecast accuracy", () => {
  it("shows 1 − WAPE first, then WAPE, MAPE and the bias with its sign", () => {
    expect(accuracyFigures(total).map((f) => [f.key, f.value])).toEqual([
      ["accuracy", "85 %"], ["wape", "15 %"], ["mape", "20 %"], ["bias", "+10.3"], ["biasRatio", "+10.3 %"],
      ["forecastVolume", "110.3"], ["actualVolume", "100"],
    ]);
  });

  it("shows a range without actual contacts as no figure, never 0 or 100 %", () => {
    const none = { ...total, actual_volume: 0, wape: null, accuracy: null, mape: null, bias: 12, bias_ratio: null };
    expect(Object.fromEntries(accuracyFigures(none).map((f) => [f.key, f.value]))).toMatchObject({
      accuracy: "—", wape: "—", mape: "—", bias: "+12", biasRatio: "—",
    });
    expect(signed(-3.04)).toBe("−3");
    expect(signed(0.04)).toBe("0");
  });

  it("labels a forecast by queue, channel, its days in the tenant's zone and method", () => {
    const f = { queue_id: "support", channel: "chat", method: "ets", start: "2026-03-01T23:00:00Z", end: "2026-03-15T23:00:00Z" } as ForecastSummary;
    expect(forecastLabel(f, "Europe/Berlin")).toBe("support · chat · 2026-03-02 – 2026-03-15 · ets");
  });
});

describe("agent performance", () => {
  it("gives a share with its count, and nothing to count as a dash", () => {
    expect(shareOf(2 / 3, 3)).toBe("66.7 % (3)");
    expect(shareOf(0, 2)).toBe("0 % (2)");
    expect(shareOf(null, 0)).toBe("—");
  });
});
