// The Reports screen's forecast accuracy and agent performance figures, as text (pure).
// The figures themselves are the server's (docs/wfm.md "Forecast accuracy", docs/kpis.md
// "Agent performance"); here they are only labelled and formatted.
import type { Schemas } from "../api/client";
import { percent } from "./today";

export type ForecastSummary = Schemas["ForecastSummary"];
export type Accuracy = Schemas["ForecastAccuracyOut"];

function day(instant: string, timeZone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(instant));
}

/** A forecast in the chooser: queue, channel, its days in the tenant's zone (the end is
 * exclusive: a forecast to midnight ends the day before) and the method used. */
export function forecastLabel(f: ForecastSummary, timeZone: string): string {
  const last = new Date(Date.parse(f.end) - 1).toISOString();
  return `${f.queue_id} · ${f.channel} · ${day(f.start, timeZone)} – ${day(last, timeZone)} · ${f.method}`;
}

/** A count with its sign (a bias: + the forecast was too high); one decimal at most. */
export function signed(value: number): string {
  const rounded = Math.round(value * 10) / 10;
  if (rounded === 0) return "0";
  return `${rounded > 0 ? "+" : "−"}${Math.abs(rounded)}`;
}

/** A share with what it is a share of: "66.7 % (3)"; nothing to count: "—". */
export function shareOf(share: number | null | undefined, count: number): string {
  return share === null || share === undefined || count === 0 ? "—" : `${percent(share)} (${count})`;
}

export interface AccuracyFigure {
  key: "accuracy" | "wape" | "mape" | "bias" | "biasRatio" | "forecastVolume" | "actualVolume";
  value: string;
}

/** The range's figures in the order shown: 1 − WAPE first (the KPI), then WAPE, MAPE, bias. */
export function accuracyFigures(total: Accuracy["total"]): AccuracyFigure[] {
  return [
    { key: "accuracy", value: percent(total.accuracy) },
    { key: "wape", value: percent(total.wape) },
    { key: "mape", value: percent(total.mape) },
    { key: "bias", value: signed(total.bias) },
    { key: "biasRatio", value: total.bias_ratio === null ? "—" : `${total.bias_ratio > 0 ? "+" : ""}${percent(total.bias_ratio)}` },
    { key: "forecastVolume", value: String(Math.round(total.forecast_volume * 10) / 10) },
    { key: "actualVolume", value: String(total.actual_volume) },
  ];
}
