import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, ok } from "../api/client";
import { type Errors, errorsOf, Field, FormError, OtherErrors } from "../admin/Problem";
import { useDeskContext } from "../context";
import { formatDateTime, LANGUAGES, language, t } from "../i18n";
import { INTERVALS } from "./reports";
import { bodyOf, CADENCES, check, type Draft, draftOf, emptyDraft, MAIL_LANGUAGES, PERIODS, type Run, type Schedule } from "./reportSchedules";

const SHOWN = new Set(["name", "report", "queue_id", "agent_id", "interval", "period", "format", "cadence", "weekday", "at", "recipients", "sender_address", "language"]);
const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/** The Reports screen's "Scheduled emails": reports mailed on a cadence (docs/kpis.md,
 * "Scheduled report emails"): the list with each one's latest run, a form to add or change
 * one (refusals shown on their field), a delete that asks first, and a schedule's last runs. */
export function ScheduledReports() {
  const { store } = useDeskContext();
  const queues = store.state ? Object.values(store.state.routing.queues).sort((a, b) => a.name.localeCompare(b.name)) : [];
  const agents = store.state ? Object.entries(store.state.routing.agents).sort(([, a], [, b]) => a.name.localeCompare(b.name)) : [];
  const [list, setList] = useState<Schedule[] | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [runs, setRuns] = useState<{ id: string; runs: Run[] } | null>(null);
  const [listError, setListError] = useState<string | null>(null);

  const load = () =>
    ok(api.GET("/api/v1/analytics/report-schedules"))
      .then((found) => {
        setList(found);
        setListError(null);
      })
      .catch((e) => setListError(e instanceof ApiError ? e.message : t("error.network")));
  useEffect(() => void load(), []);

  const save = async (d: Draft) => {
    const local = check(d);
    if (Object.keys(local).length > 0) {
      setErrors(Object.fromEntries(Object.entries(local).map(([k, v]) => [k, t(`reports.schedules.problem.${v}`)])));
      return;
    }
    setBusy(true);
    try {
      const body = bodyOf(d);
      if (d.id === null) await ok(api.POST("/api/v1/analytics/report-schedules", { body }));
      else await ok(api.PUT("/api/v1/analytics/report-schedules/{schedule_id}", { params: { path: { schedule_id: d.id } }, body }));
      setDraft(null);
      setErrors({});
      await load();
    } catch (e) {
      setErrors(errorsOf(e));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (s: Schedule) => {
    setBusy(true);
    try {
      await ok(api.DELETE("/api/v1/analytics/report-schedules/{schedule_id}", { params: { path: { schedule_id: s.id }, query: { version: s.version } } }));
      setConfirming(null);
      if (runs?.id === s.id) setRuns(null);
      await load();
    } catch (e) {
      setListError(errorsOf(e)[""] ?? t("error.network"));
      setConfirming(null);
      await load();
    } finally {
      setBusy(false);
    }
  };

  // Send the latest whole period now; the runs open to show it pending, then sent.
  const sendNow = async (s: Schedule) => {
    setBusy(true);
    try {
      await ok(api.POST("/api/v1/analytics/report-schedules/{schedule_id}/send-now", { params: { path: { schedule_id: s.id } } }));
      const found = await ok(api.GET("/api/v1/analytics/report-schedules/{schedule_id}/runs", { params: { path: { schedule_id: s.id } } }));
      setRuns({ id: s.id, runs: found });
      await load();
    } catch (e) {
      setListError(errorsOf(e)[""] ?? t("error.network"));
    } finally {
      setBusy(false);
    }
  };

  const showRuns = async (s: Schedule) => {
    if (runs?.id === s.id) return setRuns(null);
    const found = await ok(api.GET("/api/v1/analytics/report-schedules/{schedule_id}/runs", { params: { path: { schedule_id: s.id } } }));
    setRuns({ id: s.id, runs: found });
  };

  const change = (patch: Partial<Draft>) => draft && setDraft({ ...draft, ...patch });
  const queueName = (id: string | null | undefined) => (id ? (queues.find((q) => q.id === id)?.name ?? id) : t("reports.allQueues"));
  return (
    <section class="scheduled-reports" aria-labelledby="scheduled-title" data-testid="scheduled-reports">
      <h2 id="scheduled-title">{t("reports.schedules.title")}</h2>
      <p class="source">{t("reports.schedules.intro")}</p>
      {listError && (
        <p class="error" role="alert">
          {listError}
        </p>
      )}
      {list !== null && list.length === 0 && <p class="empty">{t("reports.schedules.none")}</p>}
      {list !== null && list.length > 0 && (
        <table class="report-table" data-testid="schedule-table">
          <caption>{t("reports.schedules.caption")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("reports.schedules.name")}</th>
              <th scope="col">{t("reports.kind")}</th>
              <th scope="col">{t("reports.schedules.when")}</th>
              <th scope="col">{t("reports.schedules.recipients")}</th>
              <th scope="col">{t("reports.schedules.nextDue")}</th>
              <th scope="col">{t("reports.schedules.lastRun")}</th>
              <th scope="col">{t("reports.schedules.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.id} data-schedule={s.id}>
                <th scope="row">{s.name}</th>
                <td>
                  {t(`reports.kinds.${s.report}`)}
                  {s.report !== "agents" && <> · {queueName(s.queue_id)}</>} · {s.format.toUpperCase()} · <span lang={s.language}>{LANGUAGES[s.language]}</span>
                </td>
                <td>{when(s)}</td>
                <td>{s.recipients.length}</td>
                <td>{formatDateTime(s.next_due_at)}</td>
                <td data-run-status={s.last_run?.status ?? ""}>{s.last_run ? runStatus(s.last_run) : "—"}</td>
                <td class="inline">
                  <button type="button" onClick={() => { setErrors({}); setDraft(draftOf(s)); }}>
                    {t("reports.schedules.edit", { name: s.name })}
                  </button>
                  <button type="button" aria-expanded={runs?.id === s.id} onClick={() => void showRuns(s)}>
                    {t("reports.schedules.runs", { name: s.name })}
                  </button>
                  <button type="button" disabled={busy} onClick={() => void sendNow(s)}>
                    {t("reports.schedules.sendNow", { name: s.name })}
                  </button>
                  {confirming === s.id ? (
                    <ConfirmDelete name={s.name} busy={busy} onCancel={() => setConfirming(null)} onConfirm={() => void remove(s)} />
                  ) : (
                    <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(s.id)}>
                      {t("reports.schedules.delete", { name: s.name })}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {runs && <RunList runs={runs.runs} />}
      {draft === null ? (
        <button type="button" onClick={() => { setErrors({}); setDraft(emptyDraft(list?.[0]?.sender_address ?? "", language())); }}>
          {t("reports.schedules.add")}
        </button>
      ) : (
        <form
          class="schedule-form"
          data-testid="schedule-form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void save(draft);
          }}
        >
          <h3>{draft.id === null ? t("reports.schedules.add") : t("reports.schedules.edit", { name: draft.name })}</h3>
          <FormError errors={errors} />
          <Field id="schedule-name" field="name" label={t("reports.schedules.name")} errors={errors}>
            {(attrs) => <input {...attrs} value={draft.name} maxLength={200} onInput={(e) => change({ name: (e.target as HTMLInputElement).value })} />}
          </Field>
          <Field id="schedule-report" field="report" label={t("reports.kind")} errors={errors}>
            {(attrs) => (
              <select {...attrs} value={draft.report} onChange={(e) => change({ report: (e.target as HTMLSelectElement).value as Draft["report"] })}>
                {(["queues", "agents", "contacts"] as const).map((k) => (
                  <option key={k} value={k}>
                    {t(`reports.kinds.${k}`)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {draft.report !== "agents" ? (
            <Field id="schedule-queue" field="queue_id" label={t("reports.queue")} errors={errors}>
              {(attrs) => (
                <select {...attrs} value={draft.queue} onChange={(e) => change({ queue: (e.target as HTMLSelectElement).value })}>
                  <option value="">{t("reports.allQueues")}</option>
                  {queues.map((q) => (
                    <option key={q.id} value={q.id}>
                      {q.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          ) : (
            <Field id="schedule-agent" field="agent_id" label={t("agents.name")} errors={errors}>
              {(attrs) => (
                <select {...attrs} value={draft.agent} onChange={(e) => change({ agent: (e.target as HTMLSelectElement).value })}>
                  <option value="">{t("reports.schedules.allAgents")}</option>
                  {agents.map(([id, a]) => (
                    <option key={id} value={id}>
                      {a.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          {draft.report !== "contacts" && (
            <Field id="schedule-interval" field="interval" label={t("reports.interval")} errors={errors}>
              {(attrs) => (
                <select {...attrs} value={draft.interval} onChange={(e) => change({ interval: (e.target as HTMLSelectElement).value as Draft["interval"] })}>
                  {INTERVALS.map((i) => (
                    <option key={i} value={i}>
                      {t(`reports.intervals.${i}`)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          <Field id="schedule-period" field="period" label={t("reports.schedules.period")} errors={errors}>
            {(attrs) => (
              <select {...attrs} value={draft.period} onChange={(e) => change({ period: (e.target as HTMLSelectElement).value as Draft["period"] })}>
                {PERIODS.map((p) => (
                  <option key={p} value={p}>
                    {t(`reports.schedules.periods.${p}`)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field id="schedule-format" field="format" label={t("reports.schedules.format")} errors={errors}>
            {(attrs) => (
              <select {...attrs} value={draft.format} onChange={(e) => change({ format: (e.target as HTMLSelectElement).value as Draft["format"] })}>
                <option value="csv">CSV</option>
                <option value="xlsx">XLSX</option>
              </select>
            )}
          </Field>
          <Field id="schedule-cadence" field="cadence" label={t("reports.schedules.cadence")} errors={errors}>
            {(attrs) => (
              <select {...attrs} value={draft.cadence} onChange={(e) => change({ cadence: (e.target as HTMLSelectElement).value as Draft["cadence"] })}>
                {CADENCES.map((c) => (
                  <option key={c} value={c}>
                    {t(`reports.schedules.cadences.${c}`)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {draft.cadence === "weekly" && (
            <Field id="schedule-weekday" field="weekday" label={t("reports.schedules.weekday")} errors={errors}>
              {(attrs) => (
                <select {...attrs} value={String(draft.weekday)} onChange={(e) => change({ weekday: Number((e.target as HTMLSelectElement).value) })}>
                  {WEEKDAYS.map((d, i) => (
                    <option key={d} value={String(i)}>
                      {t(`reports.schedules.weekdays.${d}`)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          <Field id="schedule-at" field="at" label={t("reports.schedules.at")} errors={errors}>
            {(attrs) => <input {...attrs} type="time" value={draft.at} onInput={(e) => change({ at: (e.target as HTMLInputElement).value })} />}
          </Field>
          <Field id="schedule-recipients" field="recipients" label={t("reports.schedules.recipientsLabel")} errors={errors}>
            {(attrs) => <textarea {...attrs} rows={3} value={draft.recipients} onInput={(e) => change({ recipients: (e.target as HTMLTextAreaElement).value })} />}
          </Field>
          <Field id="schedule-sender" field="sender_address" label={t("reports.schedules.sender")} errors={errors}>
            {(attrs) => <input {...attrs} type="email" value={draft.sender} onInput={(e) => change({ sender: (e.target as HTMLInputElement).value })} />}
          </Field>
          <Field id="schedule-language" field="language" label={t("reports.schedules.language")} errors={errors}>
            {(attrs) => (
              <select {...attrs} value={draft.language} onChange={(e) => change({ language: (e.target as HTMLSelectElement).value as Draft["language"] })}>
                {MAIL_LANGUAGES.map((l) => (
                  <option key={l} value={l} lang={l}>
                    {LANGUAGES[l]}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <OtherErrors errors={errors} shown={(name) => SHOWN.has(name.split(".")[0])} />
          <button type="submit" disabled={busy}>
            {t("reports.schedules.save")}
          </button>
          <button type="button" onClick={() => { setDraft(null); setErrors({}); }}>
            {t("admin.cancel")}
          </button>
        </form>
      )}
    </section>
  );
}

function when(s: Schedule): string {
  const period = t(`reports.schedules.periods.${s.period}`);
  if (s.cadence === "weekly") return t("reports.schedules.weeklyAt", { day: t(`reports.schedules.weekdays.${WEEKDAYS[s.weekday ?? 0]}`), at: s.at, period });
  return t(`reports.schedules.${s.cadence}At`, { at: s.at, period });
}

function runStatus(run: Run): string {
  const status = t(`reports.schedules.status.${run.status}`);
  return run.reason ? `${status} (${run.reason})` : status;
}

function RunList({ runs }: { runs: Run[] }) {
  if (runs.length === 0) return <p class="empty">{t("reports.schedules.noRuns")}</p>;
  return (
    <table class="report-table" data-testid="run-table">
      <caption>{t("reports.schedules.runsCaption")}</caption>
      <thead>
        <tr>
          <th scope="col">{t("reports.schedules.dueAt")}</th>
          <th scope="col">{t("reports.schedules.period")}</th>
          <th scope="col">{t("reports.schedules.statusHeader")}</th>
          <th scope="col">{t("reports.schedules.attempts")}</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} data-run-status={r.status}>
            <td>{formatDateTime(r.due_at)}</td>
            <td>
              {formatDateTime(r.period_start)} – {formatDateTime(r.period_end)}
            </td>
            <td>{runStatus(r)}</td>
            <td>{r.attempts}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ConfirmDelete({ name, busy, onConfirm, onCancel }: { name: string; busy: boolean; onConfirm: () => void; onCancel: () => void }) {
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <span role="group" aria-label={t("reports.schedules.confirmDelete", { name })} class="inline">
      <span>{t("reports.schedules.confirmDelete", { name })}</span>
      <button type="button" class="danger" ref={first} disabled={busy} onClick={onConfirm}>
        {t("reports.schedules.deleteYes", { name })}
      </button>
      <button type="button" onClick={onCancel}>
        {t("admin.cancel")}
      </button>
    </span>
  );
}
