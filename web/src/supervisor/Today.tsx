import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useDeskContext } from "../context";
import { useDesk, useNow } from "../hooks";
import { formatDuration, t } from "../i18n";
import { useFiguresVersion } from "./figures-version";
import { bars, changesFigures, lastHalfHour, percent, quarterOf, type QueueReport, tenantDay } from "./today";

/** Today's KPIs per queue the supervisor sees (the KPI reports, docs/kpis.md) and a chart of
 * the day's hours: read when routing's events say they changed, never on a timer. */
export function Today() {
  const { store } = useDeskContext();
  useDesk(store);
  const queues = store.state
    ? Object.values(store.state.routing.queues).sort((a, b) => a.name.localeCompare(b.name))
    : [];
  const ids = queues.map((q) => q.id).join(",");
  const [zone, setZone] = useState<string | null>(null);
  const [reports, setReports] = useState<Record<string, QueueReport>>({});
  const [failed, setFailed] = useState(false);
  const [recent, setRecent] = useState<Record<string, QueueReport>>({});
  const [chosen, setChosen] = useState<string | null>(null);
  const version = useFiguresVersion(store, changesFigures);
  // The tenant's day changes at its midnight and the last 30 minutes every quarter hour: both
  // checked each minute, read again when they change.
  const now = useNow(60_000);
  const day = zone ? tenantDay(zone, new Date(now)) : null;
  const quarter = quarterOf(now);

  useEffect(() => {
    let gone = false;
    (async () => {
      const tz = zone ?? (await ok(api.GET("/api/v1/analytics/settings"))).timezone;
      const range = tenantDay(tz, new Date());
      const half = lastHalfHour(new Date());
      const read = (queue_id: string, start: string, end: string, interval: "60m" | "15m") =>
        ok(api.GET("/api/v1/analytics/queues", { params: { query: { start, end, interval, queue_id } } }));
      const queueIds = ids.split(",").filter(Boolean);
      const [found, latest] = await Promise.all([
        Promise.all(queueIds.map((q) => read(q, range.start, range.end, "60m"))),
        Promise.all(queueIds.map((q) => read(q, half.start, half.end, "15m"))),
      ]);
      if (gone) return;
      setZone(tz);
      setReports(Object.fromEntries(found.map((r) => [r.queue_id as string, r])));
      setRecent(Object.fromEntries(latest.map((r) => [r.queue_id as string, r])));
      setFailed(false);
    })().catch(() => {
      if (!gone) setFailed(true);
    });
    return () => {
      gone = true;
    };
  }, [ids, version, day?.start, quarter]);

  const shown = queues.filter((q) => reports[q.id]);
  const charted = shown.find((q) => q.id === chosen) ?? shown[0];
  return (
    <section class="today" aria-labelledby="today-title">
      <h2 id="today-title">{t("today.title")}</h2>
      <p class="source">{t("today.source")}</p>
      {failed && (
        <p class="error" role="alert">
          {t("today.failed")}
        </p>
      )}
      {shown.length === 0 ? (
        !failed && <p class="empty">{t("wallboard.none")}</p>
      ) : (
        <>
          <table data-testid="today">
            <thead>
              <tr>
                <th scope="col">{t("wallboard.queue")}</th>
                <th scope="col">{t("today.offered")}</th>
                <th scope="col">{t("today.answered")}</th>
                <th scope="col">{t("today.abandoned")}</th>
                <th scope="col">{t("today.serviceLevel")}</th>
                <th scope="col">{t("today.serviceLevel30")}</th>
                <th scope="col">{t("today.asa")}</th>
                <th scope="col">{t("today.aht")}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((q) => {
                const total = reports[q.id].total;
                return (
                  <tr key={q.id} data-queue={q.id}>
                    <th scope="row">{q.name}</th>
                    <td data-kpi="offered">{total.sums.offered}</td>
                    <td data-kpi="answered">{total.sums.answered}</td>
                    <td data-kpi="abandoned">{total.sums.abandoned}</td>
                    <td data-kpi="service_level">{percent(total.kpis.service_level)}</td>
                    <td data-kpi="service_level_30m">{percent(recent[q.id]?.total.kpis.service_level)}</td>
                    <td data-kpi="asa">{seconds(total.kpis.asa_seconds)}</td>
                    <td data-kpi="aht">{seconds(total.kpis.aht_seconds)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {charted && (
            <>
              <label>
                {t("today.chartOf")}{" "}
                <select value={charted.id} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
                  {shown.map((q) => (
                    <option key={q.id} value={q.id}>
                      {q.name}
                    </option>
                  ))}
                </select>
              </label>
              <HourChart report={reports[charted.id]} name={charted.name} />
            </>
          )}
        </>
      )}
    </section>
  );
}

function seconds(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : formatDuration(value);
}

const BAR = 22;
const HEIGHT = 140;
const AXIS = 18;

/** Contacts offered per hour (bars) and the hour's service level (the line, 0–100 %). */
function HourChart({ report, name }: { report: QueueReport; name: string }) {
  const data = bars(report);
  const most = Math.max(1, ...data.map((b) => b.offered));
  const plot = HEIGHT - AXIS - 4;
  const width = Math.max(24, data.length) * BAR;
  const line = data
    .map((b, i) => (b.serviceLevel === null ? null : `${i * BAR + BAR / 2},${4 + plot * (1 - b.serviceLevel)}`))
    .filter((p): p is string => p !== null)
    .join(" ");
  const captionId = `today-chart-${report.queue_id}`;
  return (
    <figure class="kpi-chart" data-testid="kpi-chart" data-queue={report.queue_id}>
      <figcaption id={captionId}>{t("today.chart", { queue: name })}</figcaption>
      <svg viewBox={`0 0 ${width} ${HEIGHT}`} role="img" aria-labelledby={captionId}>
        {data.map((b, i) => {
          const tall = (b.offered / most) * plot;
          return (
            <g key={b.label}>
              <rect
                class="bar"
                data-hour={b.label}
                data-offered={b.offered}
                x={i * BAR + 3}
                y={4 + plot - tall}
                width={BAR - 6}
                height={tall}
              >
                <title>{t("today.barTitle", { hour: b.label, offered: b.offered, sl: percent(b.serviceLevel) })}</title>
              </rect>
              <text x={i * BAR + BAR / 2} y={HEIGHT - 4} text-anchor="middle">
                {b.label}
              </text>
            </g>
          );
        })}
        <line class="axis" x1={0} x2={width} y1={4 + plot} y2={4 + plot} />
        {line && <polyline class="sl-line" points={line} fill="none" />}
      </svg>
    </figure>
  );
}
