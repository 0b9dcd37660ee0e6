import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useDeskContext } from "../context";
import { useDesk, useNow } from "../hooks";
import { formatDuration, t } from "../i18n";
import { shownAt } from "../realtime/analytics";
import { bars, percent, type QueueReport, tenantDay } from "./today";
import { TodayBy } from "./TodayBy";

/** Today's KPIs per queue the supervisor sees, as the server pushes them (the snapshot's
 * `analytics` section and its `analytics.queue_figures` events: docs/kpis.md, "Live figures"),
 * and a chart of the day's hours. The hours are not pushed: the chart reads the charted queue's
 * hourly report when that queue's pushed count of offered contacts (the only change that moves
 * a bar or its service level) changes, at the tenant's midnight and on a resync. */
export function Today() {
  const { store } = useDeskContext();
  useDesk(store);
  const queues = store.state
    ? Object.values(store.state.routing.queues).sort((a, b) => a.name.localeCompare(b.name))
    : [];
  const pushed = store.state?.analytics.queues ?? {};
  const [settingsZone, setSettingsZone] = useState<string | null>(null);
  const [chart, setChart] = useState<QueueReport | null>(null);
  const [failed, setFailed] = useState(false);
  const [chosen, setChosen] = useState<string | null>(null);
  // Pushed figures change when contacts do, not when time passes: each minute the day and the
  // last 30 minutes are looked at again (no read: shownAt works them out).
  const now = useNow(60_000);
  const charted = queues.find((q) => q.id === chosen) ?? queues[0];
  const pushedZone = Object.values(pushed)[0]?.timezone ?? null;
  const zone = pushedZone ?? settingsZone;
  const day = zone ? tenantDay(zone, new Date(now)).start : null;
  const offered = charted ? (shownAt(pushed[charted.id], now).today?.sums.offered ?? 0) : 0;

  useEffect(() => {
    // Nothing pushed yet (no figures today): the chart's day is in the tenant's zone all the same.
    if (zone || !charted) return;
    let gone = false;
    ok(api.GET("/api/v1/analytics/settings"))
      .then((found) => !gone && setSettingsZone(found.timezone))
      .catch(() => !gone && setFailed(true));
    return () => {
      gone = true;
    };
  }, [zone, charted?.id]);

  useEffect(() => {
    if (!charted || !zone) return;
    let gone = false;
    const range = tenantDay(zone, new Date());
    const query = { start: range.start, end: range.end, interval: "60m" as const, queue_id: charted.id };
    ok(api.GET("/api/v1/analytics/queues", { params: { query } }))
      .then((report) => {
        if (gone) return;
        setChart(report);
        setFailed(false);
      })
      .catch(() => !gone && setFailed(true));
    return () => {
      gone = true;
    };
  }, [charted?.id, zone, day, offered, store.snapshots]);

  return (
    <section class="today" aria-labelledby="today-title">
      <h2 id="today-title">{t("today.title")}</h2>
      <p class="source">{t("today.source")}</p>
      {failed && (
        <p class="error" role="alert">
          {t("today.failed")}
        </p>
      )}
      {queues.length === 0 ? (
        <p class="empty">{t("wallboard.none")}</p>
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
              {queues.map((q) => {
                const { today, last30 } = shownAt(pushed[q.id], now);
                return (
                  <tr key={q.id} data-queue={q.id}>
                    <th scope="row">{q.name}</th>
                    <td data-kpi="offered">{today?.sums.offered ?? 0}</td>
                    <td data-kpi="answered">{today?.sums.answered ?? 0}</td>
                    <td data-kpi="abandoned">{today?.sums.abandoned ?? 0}</td>
                    <td data-kpi="service_level">{percent(today?.kpis.service_level)}</td>
                    <td data-kpi="service_level_30m">{percent(last30?.service_level)}</td>
                    <td data-kpi="asa">{seconds(today?.kpis.asa_seconds)}</td>
                    <td data-kpi="aht">{seconds(today?.kpis.aht_seconds)}</td>
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
                  {queues.map((q) => (
                    <option key={q.id} value={q.id}>
                      {q.name}
                    </option>
                  ))}
                </select>
              </label>
              {chart && chart.queue_id === charted.id && <HourChart report={chart} name={charted.name} />}
            </>
          )}
        </>
      )}
      <TodayBy />
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
