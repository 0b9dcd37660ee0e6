/** The what-if's comparison, read from the twin's study report (POST /api/v1/wfm/what-if):
 * for the whole center and each queue, each figure now, with the change, and the paired
 * difference, marked better or worse only when its 95 % interval excludes zero. */

export interface Cell {
  mean: number | null;
  ci_low: number | null;
  ci_high: number | null;
  half_width: number | null;
}

type Figures = Record<string, Cell | undefined>;
type Level = Figures;
interface Run {
  variant: string;
  total: Figures;
  queues: (Figures & { queue_id?: unknown })[];
}

export const FIGURES = ["service_level", "asa", "abandon_rate", "answered"] as const;
export type Figure = (typeof FIGURES)[number];
/** Which way is better for the customer: more service level and answers, less wait and abandons. */
const HIGHER_IS_BETTER: Record<Figure, boolean> = {
  service_level: true,
  asa: false,
  abandon_rate: false,
  answered: true,
};

export type Effect = "better" | "worse" | "none";

export interface Row {
  queueId: string | null; // null: the whole center
  figure: Figure;
  baseline: Cell | null;
  change: Cell | null;
  difference: Cell | null;
  effect: Effect;
}

export function effectOf(figure: Figure, difference: Cell | null): Effect {
  if (!difference || difference.ci_low == null || difference.ci_high == null) return "none";
  const up = difference.ci_low > 0;
  const down = difference.ci_high < 0;
  if (!up && !down) return "none"; // the interval holds zero: no effect told apart from noise
  return up === HIGHER_IS_BETTER[figure] ? "better" : "worse";
}

function runs(study: unknown): { baseline: Run; change: Run; difference: Run } | null {
  const s = study as { runs?: Run[]; differences?: Run[] } | null;
  const baseline = s?.runs?.find((r) => r.variant === "baseline");
  const change = s?.runs?.find((r) => r.variant === "change");
  const difference = s?.differences?.find((r) => r.variant === "change");
  return baseline && change && difference ? { baseline, change, difference } : null;
}

function queueLevel(run: Run, queueId: string): Level | undefined {
  return run.queues.find((q) => q.queue_id === queueId);
}

export function comparison(study: unknown): Row[] {
  const found = runs(study);
  if (!found) return [];
  const { baseline, change, difference } = found;
  const levels: [string | null, Level | undefined, Level | undefined, Level | undefined][] = [
    [null, baseline.total, change.total, difference.total],
    ...baseline.queues.map((q) => {
      const id = String(q.queue_id);
      return [id, q, queueLevel(change, id), queueLevel(difference, id)] as [string, Level, Level | undefined, Level | undefined];
    }),
  ];
  const rows: Row[] = [];
  for (const [queueId, b, c, d] of levels) {
    for (const figure of FIGURES) {
      const diff = d?.[figure] ?? null;
      rows.push({ queueId, figure, baseline: b?.[figure] ?? null, change: c?.[figure] ?? null, difference: diff, effect: effectOf(figure, diff) });
    }
  }
  return rows;
}

/** A figure as people read it: rates in percent, ASA in seconds, answers as a count. */
export function formatValue(figure: Figure, value: number | null, lang: string): string {
  if (value == null) return "–";
  if (figure === "service_level" || figure === "abandon_rate") {
    return new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 }).format(value);
  }
  return new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(value);
}

/** "mean ± half-width" (the half-width left out when there is none). */
export function formatCell(figure: Figure, cell: Cell | null, lang: string): string {
  if (!cell || cell.mean == null) return "–";
  const mean = formatValue(figure, cell.mean, lang);
  return cell.half_width == null ? mean : `${mean} ± ${formatValue(figure, cell.half_width, lang)}`;
}

/** Yesterday in the browser's calendar, as the date input wants it (YYYY-MM-DD). */
export function yesterday(now: Date = new Date()): string {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Where the what-if's volumes come from: a recorded day, or a day of a stored forecast. */
export type Source = "recorded" | "forecast";

export interface Choice {
  source: Source;
  day: string; // the recorded day
  forecastId: string;
  forecastDay: string;
}

/** The request body's source part: exactly one of `day` and `forecast` (the server refuses
 * both or neither). */
export function sourceBody(choice: Choice): { day: string } | { forecast: { id: string; day: string } } {
  return choice.source === "recorded" ? { day: choice.day } : { forecast: { id: choice.forecastId, day: choice.forecastDay } };
}

interface ForecastLike {
  id: string;
  queue_id: string;
  channel: string;
  start: string;
  end: string;
  method: string;
}

/** A forecast's days (UTC dates, as stored): the first and the last. */
export function forecastDays(f: Pick<ForecastLike, "start" | "end">): { first: string; last: string } {
  const last = new Date(Date.parse(f.end) - 1);
  return { first: f.start.slice(0, 10), last: last.toISOString().slice(0, 10) };
}

/** "queue/channel, first – last (method)": how a forecast is offered in the select. */
export function forecastLabel(f: ForecastLike): string {
  const { first, last } = forecastDays(f);
  return `${f.queue_id}/${f.channel}, ${first} – ${last} (${f.method})`;
}

/** The forecast day to offer when a forecast is picked: the day kept if the forecast covers
 * it, else the forecast's first day. */
export function dayIn(f: Pick<ForecastLike, "start" | "end">, day: string): string {
  const { first, last } = forecastDays(f);
  return day && day >= first && day <= last ? day : first;
}
