import { useEffect, useState } from "preact/hooks";
import { api, ApiError, ok, type Schemas } from "../api/client";
import { Header } from "../components/Header";
import { useDeskContext } from "../context";
import { useDesk } from "../hooks";
import { formatDuration, t } from "../i18n";
import {
  type Choice,
  type DispositionsReport,
  exportUrl,
  type HandledPoint,
  handledPoints,
  INTERVALS,
  KINDS,
  JOURNEY_BY,
  type JourneyBy,
  type JourneyReport,
  type Point,
  points,
  type QueueReport,
  rangeOf,
  reportQuery,
  type ReportKind,
  takesQueue,
  type TeamsReport,
  switchMatrix,
} from "./reports";
import { formatScore } from "./quality";
import { ScheduledReports } from "./ScheduledReports";
import { type Accuracy, accuracyFigures, forecastLabel, type ForecastSummary, shareOf } from "./accuracy";
import { percent, tenantDay } from "./today";

type Shown =
  | { kind: "queues"; report: QueueReport }
  | { kind: "agents"; report: Schemas["KpiAgentsReport"] }
  | { kind: "teams"; report: TeamsReport }
  | { kind: "dispositions"; report: DispositionsReport }
  | { kind: "contacts"; report: Schemas["KpiContactVisits"] }
  | { kind: "journeys"; report: JourneyReport };

// The screen shows this many contacts' rows; the files hold them all.
const CONTACT_ROWS = 500;

/** Reports for supervisors and admins (docs/supervisor-guide.md, "Reports"): a queue, agent
 * or per-contact report over days of the tenant's zone, as a table and a chart, and the same
 * report as CSV or XLSX. Read when asked (the Show button), never on a timer. */
export function Reports({ onLanguage }: { onLanguage: () => void }) {
  const { store } = useDeskContext();
  useDesk(store);
  const queues = store.state ? Object.values(store.state.routing.queues).sort((a, b) => a.name.localeCompare(b.name)) : [];
  const [choice, setChoice] = useState<Choice | null>(null);
  const [shown, setShown] = useState<Shown | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [zone, setZone] = useState("UTC");

  const show = async (wanted: Choice) => {
    const range = rangeOf(wanted);
    if ("error" in range) {
      setError(t(`reports.error.${range.error}`));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const query = reportQuery(wanted);
      if (wanted.kind === "queues") {
        const report = await ok(api.GET("/api/v1/analytics/queues", { params: { query } }));
        setShown({ kind: "queues", report });
      } else if (wanted.kind === "agents") {
        const report = await ok(api.GET("/api/v1/analytics/agents", { params: { query } }));
        setShown({ kind: "agents", report });
      } else if (wanted.kind === "teams") {
        const report = await ok(api.GET("/api/v1/analytics/teams", { params: { query } }));
        setShown({ kind: "teams", report });
      } else if (wanted.kind === "dispositions") {
        const report = await ok(api.GET("/api/v1/analytics/dispositions", { params: { query } }));
        setShown({ kind: "dispositions", report });
      } else if (wanted.kind === "journeys") {
        const report = await ok(api.GET("/api/v1/analytics/journeys", { params: { query } }));
        setShown({ kind: "journeys", report });
      } else {
        const report = await ok(api.GET("/api/v1/analytics/contacts", { params: { query } }));
        setShown({ kind: "contacts", report });
      }
    } catch (e) {
      setShown(null);
      setError(e instanceof ApiError ? t("reports.error.api", { detail: e.message }) : t("reports.error.failed"));
    } finally {
      setBusy(false);
    }
  };

  // Today in the tenant's zone, shown at once.
  useEffect(() => {
    ok(api.GET("/api/v1/analytics/settings"))
      .then((settings) => {
        setZone(settings.timezone);
        const day = tenantDay(settings.timezone).start.slice(0, 10);
        const first: Choice = { kind: "queues", from: day, to: day, interval: "60m", queue: "" };
        setChoice(first);
        return show(first);
      })
      .catch(() => setError(t("reports.error.failed")));
  }, []);

  const change = (patch: Partial<Choice>) => choice && setChoice({ ...choice, ...patch });
  const valid = choice !== null && !("error" in rangeOf(choice));
  return (
    <>
      <a class="skip" href="#main">
        {t("nav.skip")}
      </a>
      <Header onLanguage={onLanguage} />
      <main id="main" class="console reports" tabIndex={-1}>
        <h1>{t("reports.title")}</h1>
        <p class="source">{t("reports.source")}</p>
        {choice && (
          <form
            class="report-form"
            onSubmit={(e) => {
              e.preventDefault();
              void show(choice);
            }}
          >
            <div class="field">
              <label for="report-kind">{t("reports.kind")}</label>
              <select id="report-kind" value={choice.kind} onChange={(e) => change({ kind: (e.target as HTMLSelectElement).value as ReportKind })}>
                {KINDS.map((k) => (
                  <option key={k} value={k}>
                    {t(`reports.kinds.${k}`)}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="report-from">{t("reports.from")}</label>
              <input id="report-from" type="date" required value={choice.from} onInput={(e) => change({ from: (e.target as HTMLInputElement).value })} />
            </div>
            <div class="field">
              <label for="report-to">{t("reports.to")}</label>
              <input id="report-to" type="date" required value={choice.to} onInput={(e) => change({ to: (e.target as HTMLInputElement).value })} />
            </div>
            {choice.kind === "journeys" && (
              <div class="field">
                <label for="report-by">{t("reports.by")}</label>
                <select id="report-by" value={choice.by ?? "total"} onChange={(e) => change({ by: (e.target as HTMLSelectElement).value as JourneyBy })}>
                  {JOURNEY_BY.map((b) => (
                    <option key={b} value={b}>
                      {t(`reports.byOptions.${b}`)}
                    </option>
                  ))}
                </select>
              </div>
            )}
            {choice.kind !== "contacts" && choice.kind !== "journeys" && (
              <div class="field">
                <label for="report-interval">{t("reports.interval")}</label>
                <select id="report-interval" value={choice.interval} onChange={(e) => change({ interval: (e.target as HTMLSelectElement).value as Choice["interval"] })}>
                  {INTERVALS.map((i) => (
                    <option key={i} value={i}>
                      {t(`reports.intervals.${i}`)}
                    </option>
                  ))}
                </select>
              </div>
            )}
            {takesQueue(choice.kind) && (
              <div class="field">
                <label for="report-queue">{t("reports.queue")}</label>
                <select id="report-queue" value={choice.queue} onChange={(e) => change({ queue: (e.target as HTMLSelectElement).value })}>
                  <option value="">{t("reports.allQueues")}</option>
                  {queues.map((q) => (
                    <option key={q.id} value={q.id}>
                      {q.name}
                    </option>
                  ))}
                </select>
              </div>
            )}
            <button type="submit" disabled={busy}>
              {t("reports.show")}
            </button>
            {valid && (
              <span class="downloads">
                <a class="button" href={exportUrl(choice, "csv")} download data-testid="download-csv">
                  {t("reports.downloadCsv")}
                </a>
                <a class="button" href={exportUrl(choice, "xlsx")} download data-testid="download-xlsx">
                  {t("reports.downloadXlsx")}
                </a>
              </span>
            )}
          </form>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div aria-live="polite" aria-busy={busy}>
          {shown?.kind === "queues" && <QueueFigures report={shown.report} />}
          {shown?.kind === "agents" && <AgentFigures report={shown.report} />}
          {shown?.kind === "teams" && <TeamFigures report={shown.report} />}
          {shown?.kind === "dispositions" && <DispositionFigures report={shown.report} />}
          {shown?.kind === "contacts" && <ContactRows report={shown.report} />}
          {shown?.kind === "journeys" && <JourneyFigures report={shown.report} />}
        </div>
        <ScheduledReports />
        <ForecastAccuracy zone={zone} />
      </main>
    </>
  );
}

function seconds(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : formatDuration(value);
}

function QueueFigures({ report }: { report: QueueReport }) {
  const data = points(report);
  const row = (label: string, part: QueueReport["total"], key: string, header = false) => (
    <tr key={key} data-start={part.start}>
      {header ? <th scope="row">{label}</th> : <td>{label}</td>}
      <td data-kpi="offered">{part.sums.offered}</td>
      <td data-kpi="answered">{part.sums.answered}</td>
      <td data-kpi="abandoned">{part.sums.abandoned}</td>
      <td data-kpi="service_level">{percent(part.kpis.service_level)}</td>
      <td data-kpi="asa">{seconds(part.kpis.asa_seconds)}</td>
      <td data-kpi="aht">{seconds(part.kpis.aht_seconds)}</td>
      <td data-kpi="abandon_rate">{percent(part.kpis.abandon_rate)}</td>
    </tr>
  );
  return (
    <>
      <ReportChart data={data} />
      <table data-testid="report-table" class="report-table">
        <caption>{t("reports.tableCaption", { zone: report.timezone })}</caption>
        <thead>
          <tr>
            <th scope="col">{t("reports.interval")}</th>
            <th scope="col">{t("today.offered")}</th>
            <th scope="col">{t("today.answered")}</th>
            <th scope="col">{t("today.abandoned")}</th>
            <th scope="col">{t("today.serviceLevel")}</th>
            <th scope="col">{t("today.asa")}</th>
            <th scope="col">{t("today.aht")}</th>
            <th scope="col">{t("reports.abandonRate")}</th>
          </tr>
        </thead>
        <tbody>{report.intervals.map((part, i) => row(data[i].label, part, part.start))}</tbody>
        <tfoot>{row(t("reports.total"), report.total, "total", true)}</tfoot>
      </table>
    </>
  );
}

const SLOT = 30;
const HEIGHT = 160;
const AXIS = 18;

/** Offered (bars) and answered (narrower, darker bars) per interval, and the interval's
 * service level as a line (0–100 %): drawn by hand, as the console's Today chart. */
function ReportChart({ data }: { data: Point[] }) {
  const most = Math.max(1, ...data.map((p) => p.offered));
  const plot = HEIGHT - AXIS - 4;
  const width = Math.max(12, data.length) * SLOT;
  const y = (value: number) => 4 + plot - (value / most) * plot;
  const line = data
    .map((p, i) => (p.serviceLevel === null ? null : `${i * SLOT + SLOT / 2},${4 + plot * (1 - p.serviceLevel)}`))
    .filter((p): p is string => p !== null)
    .join(" ");
  // Every label when they fit, else every n-th.
  const every = Math.ceil(data.length / 24);
  return (
    <figure class="kpi-chart report-chart" data-testid="report-chart">
      <figcaption id="report-chart-caption">{t("reports.chart")}</figcaption>
      <svg viewBox={`0 0 ${width} ${HEIGHT}`} style={{ width: `${width * 1.5}px` }} role="img" aria-labelledby="report-chart-caption">
        {data.map((p, i) => (
          <g key={p.start}>
            <rect class="bar" data-offered={p.offered} x={i * SLOT + 3} y={y(p.offered)} width={SLOT - 6} height={4 + plot - y(p.offered)}>
              <title>{t("reports.pointTitle", { label: p.label, offered: p.offered, answered: p.answered, sl: percent(p.serviceLevel) })}</title>
            </rect>
            <rect class="bar answered" data-answered={p.answered} x={i * SLOT + 9} y={y(p.answered)} width={SLOT - 18} height={4 + plot - y(p.answered)} />
            {i % every === 0 && (
              <text x={i * SLOT + SLOT / 2} y={HEIGHT - 4} text-anchor="middle">
                {p.label}
              </text>
            )}
          </g>
        ))}
        <line class="axis" x1={0} x2={width} y1={4 + plot} y2={4 + plot} />
        {line && <polyline class="sl-line" points={line} fill="none" />}
        {data.map((p, i) =>
          p.serviceLevel === null ? null : (
            <circle key={`sl-${p.start}`} class="sl-point" data-sl={p.serviceLevel} cx={i * SLOT + SLOT / 2} cy={4 + plot * (1 - p.serviceLevel)} r={3} />
          ),
        )}
      </svg>
      <p class="legend">
        <span class="key offered" aria-hidden="true" /> {t("today.offered")} <span class="key answered" aria-hidden="true" /> {t("today.answered")}{" "}
        <span class="key sl" aria-hidden="true" /> {t("today.serviceLevel")}
      </p>
    </figure>
  );
}

/** Contacts handled per interval (bars), in the style of the queue chart. */
function HandledChart({ data }: { data: HandledPoint[] }) {
  const most = Math.max(1, ...data.map((p) => p.handled));
  const plot = HEIGHT - AXIS - 4;
  const width = Math.max(12, data.length) * SLOT;
  const y = (value: number) => 4 + plot - (value / most) * plot;
  const every = Math.ceil(data.length / 24);
  return (
    <figure class="kpi-chart report-chart" data-testid="report-chart">
      <figcaption id="report-chart-caption">{t("reports.handledChart")}</figcaption>
      <svg viewBox={`0 0 ${width} ${HEIGHT}`} style={{ width: `${width * 1.5}px` }} role="img" aria-labelledby="report-chart-caption">
        {data.map((p, i) => (
          <g key={p.start}>
            <rect class="bar answered" data-handled={p.handled} x={i * SLOT + 3} y={y(p.handled)} width={SLOT - 6} height={4 + plot - y(p.handled)}>
              <title>{t("reports.handledTitle", { label: p.label, handled: p.handled })}</title>
            </rect>
            {i % every === 0 && (
              <text x={i * SLOT + SLOT / 2} y={HEIGHT - 4} text-anchor="middle">
                {p.label}
              </text>
            )}
          </g>
        ))}
        <line class="axis" x1={0} x2={width} y1={4 + plot} y2={4 + plot} />
      </svg>
    </figure>
  );
}

function TeamFigures({ report }: { report: TeamsReport }) {
  if (report.teams.length === 0) return <p class="empty">{t("reports.none")}</p>;
  return (
    <>
      <HandledChart data={handledPoints(report)} />
      <table data-testid="report-table" class="report-table">
        <caption>{t("reports.teamCaption")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("reports.team")}</th>
            <th scope="col">{t("reports.handled")}</th>
            <th scope="col">{t("reports.answeredInSl")}</th>
            <th scope="col">{t("reports.outcomes.transferred")}</th>
            <th scope="col">{t("today.asa")}</th>
            <th scope="col">{t("reports.talk")}</th>
            <th scope="col">{t("reports.wrap")}</th>
            <th scope="col">{t("today.aht")}</th>
          </tr>
        </thead>
        <tbody>
          {report.teams.map((team) => (
            <tr key={team.team_id} data-team={team.team_id}>
              <th scope="row">{team.name ?? t("reports.deletedTeam", { id: team.team_id })}</th>
              <td data-kpi="handled">{team.total.sums.handled}</td>
              <td>{team.total.sums.answered_in_sl}</td>
              <td>{team.total.sums.transferred}</td>
              <td>{seconds(team.total.kpis.asa_seconds)}</td>
              <td>{seconds(team.total.sums.talk_seconds)}</td>
              <td>{seconds(team.total.sums.wrap_seconds)}</td>
              <td data-kpi="aht">{seconds(team.total.kpis.aht_seconds)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function DispositionFigures({ report }: { report: DispositionsReport }) {
  if (report.dispositions.length === 0) return <p class="empty">{t("reports.none")}</p>;
  const row = (label: string, part: DispositionsReport["total"], key: string, header = false) => (
    <tr key={key} data-disposition={key}>
      {header ? <th scope="row">{label}</th> : <td>{label}</td>}
      <td data-kpi="handled">{part.sums.handled}</td>
      <td>{seconds(part.sums.talk_seconds)}</td>
      <td>{seconds(part.sums.wrap_seconds)}</td>
      <td>{seconds(part.sums.handle_seconds)}</td>
      <td data-kpi="aht">{seconds(part.kpis.aht_seconds)}</td>
    </tr>
  );
  return (
    <>
      <HandledChart data={handledPoints(report)} />
      <table data-testid="report-table" class="report-table">
        <caption>{t("reports.dispositionCaption")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("reports.disposition")}</th>
            <th scope="col">{t("reports.handled")}</th>
            <th scope="col">{t("reports.talk")}</th>
            <th scope="col">{t("reports.wrap")}</th>
            <th scope="col">{t("reports.handle")}</th>
            <th scope="col">{t("today.aht")}</th>
          </tr>
        </thead>
        <tbody>{report.dispositions.map((d) => row(d.disposition ?? t("reports.noDisposition"), d.total, d.disposition ?? ""))}</tbody>
        <tfoot>{row(t("reports.total"), report.total, "total", true)}</tfoot>
      </table>
    </>
  );
}

function AgentFigures({ report }: { report: Schemas["KpiAgentsReport"] }) {
  const { store } = useDeskContext();
  const names = store.state?.routing.agents ?? {};
  if (report.agents.length === 0) return <p class="empty">{t("reports.none")}</p>;
  return (
    <table data-testid="report-table" class="report-table">
      <caption>{t("reports.agentCaption")}</caption>
      <thead>
        <tr>
          <th scope="col">{t("agents.name")}</th>
          <th scope="col">{t("reports.handled")}</th>
          <th scope="col">{t("reports.talk")}</th>
          <th scope="col">{t("reports.wrap")}</th>
          <th scope="col">{t("today.aht")}</th>
          <th scope="col">{t("reports.occupancy")}</th>
          <th scope="col">{t("reports.csat")}</th>
          <th scope="col">{t("reports.quality")}</th>
          <th scope="col">{t("reports.fcr")}</th>
          <th scope="col">{t("reports.adherence")}</th>
        </tr>
      </thead>
      <tbody>
        {report.agents.map((a) => (
          <tr key={a.agent_id} data-agent={a.agent_id}>
            <th scope="row">{names[a.agent_id]?.name ?? a.agent_id}</th>
            <td data-kpi="handled">{a.total.sums.handled}</td>
            <td>{seconds(a.total.sums.talk_seconds)}</td>
            <td>{seconds(a.total.sums.wrap_seconds)}</td>
            <td>{seconds(a.total.kpis.aht_seconds)}</td>
            <td>{percent(a.total.kpis.occupancy)}</td>
            <td data-kpi="csat">{shareOf(a.total.kpis.csat, a.total.sums.csat_answers)}</td>
            <td data-kpi="quality">{a.total.sums.evaluations ? `${formatScore(a.total.kpis.quality_score)} (${a.total.sums.evaluations})` : "—"}</td>
            <td data-kpi="fcr">{shareOf(a.total.kpis.fcr, a.total.sums.fcr_resolved)}</td>
            <td data-kpi="adherence">{percent(a.total.kpis.adherence)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ContactRows({ report }: { report: Schemas["KpiContactVisits"] }) {
  if (report.visits.length === 0) return <p class="empty">{t("reports.none")}</p>;
  const rows = report.visits.slice(0, CONTACT_ROWS);
  const time = (value: string | null | undefined) =>
    value ? new Intl.DateTimeFormat("en-CA", { timeZone: report.timezone, dateStyle: "short", timeStyle: "medium", hourCycle: "h23" }).format(new Date(value)) : "—";
  return (
    <>
      {report.visits.length > rows.length && <p class="muted">{t("reports.firstRows", { shown: rows.length, count: report.visits.length })}</p>}
      <table data-testid="report-table" class="report-table">
        <caption>{t("reports.contactCaption", { zone: report.timezone })}</caption>
        <thead>
          <tr>
            <th scope="col">{t("reports.contact")}</th>
            <th scope="col">{t("reports.channel")}</th>
            <th scope="col">{t("reports.queue")}</th>
            <th scope="col">{t("agents.name")}</th>
            <th scope="col">{t("reports.offeredAt")}</th>
            <th scope="col">{t("reports.wait")}</th>
            <th scope="col">{t("reports.handle")}</th>
            <th scope="col">{t("reports.outcome")}</th>
            <th scope="col">{t("reports.disposition")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((v) => (
            <tr key={`${v.contact_id}#${v.visit}`} data-contact={v.contact_id}>
              <th scope="row">{v.contact_id}</th>
              <td>{v.channel}</td>
              <td>{v.queue_name || v.queue_id}</td>
              <td>{v.agent_name || v.agent_id || "—"}</td>
              <td>{time(v.offered_at)}</td>
              <td>{seconds(v.wait_seconds)}</td>
              <td>{seconds(v.handle_seconds)}</td>
              <td>{t(`reports.outcomes.${v.outcome}`)}</td>
              <td>{v.disposition ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** How a stored forecast did against what happened (GET /wfm/forecasts/{id}/accuracy): over
 * the forecast's days up to now, 1 − WAPE, WAPE, MAPE and bias, and per interval the forecast
 * beside the actual contacts. Supervisors and admins, as the API allows. */
function ForecastAccuracy({ zone }: { zone: string }) {
  const [forecasts, setForecasts] = useState<ForecastSummary[] | null>(null);
  const [chosen, setChosen] = useState("");
  const [result, setResult] = useState<Accuracy | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    ok(api.GET("/api/v1/wfm/forecasts", { params: { query: { limit: 100 } } }))
      .then((list) => {
        setForecasts(list);
        if (list.length > 0) setChosen(list[0].id);
      })
      .catch(() => setError(t("reports.error.failed")));
  }, []);

  const show = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult(await ok(api.GET("/api/v1/wfm/forecasts/{forecast_id}/accuracy", { params: { path: { forecast_id: chosen } } })));
    } catch (e) {
      setResult(null);
      setError(e instanceof ApiError ? t("reports.error.api", { detail: e.message }) : t("reports.error.failed"));
    } finally {
      setBusy(false);
    }
  };

  const time = (value: string) =>
    new Intl.DateTimeFormat("en-CA", { timeZone: zone, dateStyle: "short", timeStyle: "short", hourCycle: "h23" }).format(new Date(value));
  return (
    <section class="forecast-accuracy" aria-labelledby="accuracy-title" data-testid="forecast-accuracy">
      <h2 id="accuracy-title">{t("reports.accuracy.title")}</h2>
      {forecasts !== null && forecasts.length === 0 && <p class="empty">{t("reports.accuracy.none")}</p>}
      {forecasts !== null && forecasts.length > 0 && (
        <form
          class="report-form"
          onSubmit={(e) => {
            e.preventDefault();
            void show();
          }}
        >
          <div class="field">
            <label for="accuracy-forecast">{t("reports.accuracy.forecast")}</label>
            <select id="accuracy-forecast" value={chosen} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
              {forecasts.map((f) => (
                <option key={f.id} value={f.id}>
                  {forecastLabel(f, zone)}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" disabled={busy || !chosen}>
            {t("reports.accuracy.compare")}
          </button>
        </form>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div aria-live="polite" aria-busy={busy}>
        {result && (
          <>
            <dl class="accuracy-figures" data-testid="accuracy-figures">
              {accuracyFigures(result.total).map((f) => (
                <div key={f.key} data-figure={f.key}>
                  <dt>{t(`reports.accuracy.${f.key}`)}</dt>
                  <dd>{f.value}</dd>
                </div>
              ))}
            </dl>
            <table class="report-table" data-testid="accuracy-table">
              <caption>{t("reports.accuracy.caption", { zone })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("reports.interval")}</th>
                  <th scope="col">{t("reports.accuracy.forecastVolume")}</th>
                  <th scope="col">{t("reports.accuracy.actualVolume")}</th>
                  <th scope="col">{t("reports.accuracy.forecastAht")}</th>
                  <th scope="col">{t("reports.accuracy.actualAht")}</th>
                </tr>
              </thead>
              <tbody>
                {result.intervals.map((i) => (
                  <tr key={i.interval_start}>
                    <td>{time(i.interval_start)}</td>
                    <td>{Math.round(i.forecast_volume * 10) / 10}</td>
                    <td>{i.actual_volume}</td>
                    <td>{seconds(i.forecast_aht)}</td>
                    <td>{seconds(i.actual_aht)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </div>
    </section>
  );
}

function mean(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : String(Math.round(value * 100) / 100);
}

/** The journeys (docs/kpis.md, "Customer journeys"): the figures per row and in total, then
 * the channel switches as a from (rows) -> to (columns) table. */
function JourneyFigures({ report }: { report: JourneyReport }) {
  const { store } = useDeskContext();
  const queues = store.state?.routing.queues ?? {};
  const label = (key: string | null | undefined) => {
    if (key === null || key === undefined) return t("reports.journeys.none");
    return report.by === "queue" ? (queues[key]?.name ?? key) : key;
  };
  const row = (name: string, part: JourneyReport["total"], key: string, header = false) => (
    <tr key={key} data-key={key}>
      {header ? <th scope="row">{name}</th> : <td>{name}</td>}
      <td data-kpi="contacts">{part.contacts}</td>
      <td data-kpi="repeats">{part.repeats}</td>
      <td data-kpi="repeat_rate">{percent(part.repeat_rate)}</td>
      <td data-kpi="switches">{part.switches}</td>
      <td data-kpi="breaks">{part.breaks}</td>
      <td data-kpi="break_rate">{percent(part.break_rate)}</td>
      <td data-kpi="resolved_matters">{part.resolved_matters}</td>
      <td data-kpi="contacts_per_matter">{mean(part.contacts_per_matter)}</td>
      <td data-kpi="channels_per_matter">{mean(part.channels_per_matter)}</td>
      <td data-kpi="handle_per_matter">{seconds(part.handle_seconds_per_matter)}</td>
      <td data-kpi="elapsed_per_matter">{seconds(part.elapsed_seconds_per_matter)}</td>
    </tr>
  );
  const matrix = switchMatrix(report);
  return (
    <>
      <table data-testid="journey-table" class="report-table">
        <caption>{t("reports.journeys.caption", { days: report.window_days })}</caption>
        <thead>
          <tr>
            <th scope="col">{t(`reports.byOptions.${report.by as JourneyBy}`)}</th>
            <th scope="col">{t("reports.journeys.contacts")}</th>
            <th scope="col">{t("reports.journeys.repeats")}</th>
            <th scope="col">{t("reports.journeys.repeatRate")}</th>
            <th scope="col">{t("reports.journeys.switches")}</th>
            <th scope="col">{t("reports.journeys.breaks")}</th>
            <th scope="col">{t("reports.journeys.breakRate")}</th>
            <th scope="col">{t("reports.journeys.matters")}</th>
            <th scope="col">{t("reports.journeys.contactsPerMatter")}</th>
            <th scope="col">{t("reports.journeys.channelsPerMatter")}</th>
            <th scope="col">{t("reports.journeys.handlePerMatter")}</th>
            <th scope="col">{t("reports.journeys.elapsedPerMatter")}</th>
          </tr>
        </thead>
        <tbody>{report.rows.map((r) => row(label(r.key), r, r.key ?? "none"))}</tbody>
        <tfoot>{row(t("reports.total"), report.total, "total", true)}</tfoot>
      </table>
      {report.total.provisional > 0 && <p class="muted">{t("reports.journeys.provisional", { count: report.total.provisional })}</p>}
      {matrix.total === 0 ? (
        <p class="empty">{t("reports.journeys.noSwitches")}</p>
      ) : (
        <table data-testid="switch-matrix" class="report-table">
          <caption>{t("reports.journeys.matrixCaption")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("reports.journeys.fromTo")}</th>
              {matrix.to.map((c) => (
                <th key={c} scope="col">
                  {c}
                </th>
              ))}
              <th scope="col">{t("reports.total")}</th>
            </tr>
          </thead>
          <tbody>
            {matrix.from.map((from, i) => (
              <tr key={from} data-from={from}>
                <th scope="row">{from}</th>
                {matrix.to.map((to, j) => (
                  <td key={to} data-to={to}>
                    {matrix.counts[i][j]}
                  </td>
                ))}
                <td>{matrix.rowTotals[i]}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">{t("reports.total")}</th>
              {matrix.columnTotals.map((n, j) => (
                <td key={matrix.to[j]}>{n}</td>
              ))}
              <td>{matrix.total}</td>
            </tr>
          </tfoot>
        </table>
      )}
    </>
  );
}
