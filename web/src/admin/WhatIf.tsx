import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { language, t } from "../i18n";
import { errorsOf, FieldError, FormError, OtherErrors, type Errors } from "./Problem";
import { comparison, dayIn, forecastLabel, formatCell, sourceBody, yesterday, type Row, type Source } from "./whatIf";

type Definition = Schemas["QueueDefinition"];
type Result = Schemas["WhatIfOut"];
type Forecast = Schemas["ForecastSummary"];

interface Props {
  /** The queue as the form holds it now (not saved): the change to try. */
  change: Definition;
  onClose: () => void;
}

function effectText(row: Row): string {
  return row.effect === "none" ? t("admin.whatif.effect.none") : t(`admin.whatif.effect.${row.effect}`);
}

/** What-if: the form's queue, unsaved, run through the digital twin on a day of the tenant's
 * own traffic beside routing as it is now, on the same simulated customers. Changes nothing;
 * the admin saves (publishes) afterwards if the figures say so. */
export function WhatIf({ change, onClose }: Props) {
  const [source, setSource] = useState<Source>("recorded");
  const [day, setDay] = useState(yesterday());
  const [forecasts, setForecasts] = useState<Forecast[] | null>(null);
  const [forecastId, setForecastId] = useState("");
  const [forecastDay, setForecastDay] = useState("");
  const [replications, setReplications] = useState("10");
  const [result, setResult] = useState<Result | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const lang = language();

  // The tenant's forecasts, read once the admin picks "forecast" as the source.
  useEffect(() => {
    if (source !== "forecast" || forecasts !== null) return;
    api
      .GET("/api/v1/wfm/forecasts", { params: { query: { limit: 100 } } })
      .then((r) => {
        const list = r.data ?? [];
        setForecasts(list);
        if (list.length && !forecastId) pickForecast(list[0].id, list);
      })
      .catch(() => setForecasts([]));
  }, [source]);

  function pickForecast(id: string, list: Forecast[] = forecasts ?? []) {
    setForecastId(id);
    const found = list.find((f) => f.id === id);
    if (found) setForecastDay(dayIn(found, forecastDay));
  }

  async function run(e: Event) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setResult(null);
    try {
      const body = { ...sourceBody({ source, day, forecastId, forecastDay }), queues: [change as Record<string, unknown>], replications: Number(replications), seed: 0 };
      setResult(await ok(api.POST("/api/v1/wfm/what-if", { body })));
    } catch (err) {
      setErrors(errorsOf(err));
    } finally {
      setBusy(false);
    }
  }

  const rows = result ? comparison(result.study) : [];
  return (
    <section aria-labelledby="whatif-title" class="admin-panel" data-testid="whatif">
      <h3 id="whatif-title">{t("admin.whatif.title", { id: change.id })}</h3>
      <p>{t("admin.whatif.intro")}</p>
      <form onSubmit={(e) => void run(e)} class="admin-form">
        <fieldset>
          <legend>{t("admin.whatif.source")}</legend>
          <label>
            <input type="radio" name="whatif-source" value="recorded" checked={source === "recorded"} onChange={() => setSource("recorded")} />
            {t("admin.whatif.sourceRecorded")}
          </label>
          <label>
            <input type="radio" name="whatif-source" value="forecast" checked={source === "forecast"} onChange={() => setSource("forecast")} />
            {t("admin.whatif.sourceForecast")}
          </label>
        </fieldset>
        {source === "recorded" ? (
          <>
            <label>
              {t("admin.whatif.day")}
              <input type="date" required value={day} onInput={(e) => setDay(e.currentTarget.value)} aria-describedby={errors.day ? "whatif-day-error" : undefined} aria-invalid={errors.day ? true : undefined} />
            </label>
            <FieldError id="whatif-day-error" errors={errors} name="day" />
          </>
        ) : forecasts === null ? (
          <p>{t("admin.whatif.loadingForecasts")}</p>
        ) : forecasts.length === 0 ? (
          <p data-testid="whatif-no-forecasts">{t("admin.whatif.noForecasts")}</p>
        ) : (
          <>
            <label>
              {t("admin.whatif.forecast")}
              <select required value={forecastId} onChange={(e) => pickForecast(e.currentTarget.value)} aria-describedby={errors["forecast.id"] ? "whatif-forecast-error" : undefined} aria-invalid={errors["forecast.id"] ? true : undefined}>
                {forecasts.map((f) => (
                  <option key={f.id} value={f.id}>
                    {forecastLabel(f)}
                  </option>
                ))}
              </select>
            </label>
            <FieldError id="whatif-forecast-error" errors={errors} name="forecast.id" />
            <label>
              {t("admin.whatif.forecastDay")}
              <input type="date" required value={forecastDay} onInput={(e) => setForecastDay(e.currentTarget.value)} aria-describedby={errors["forecast.day"] ? "whatif-forecast-day-error" : undefined} aria-invalid={errors["forecast.day"] ? true : undefined} />
            </label>
            <FieldError id="whatif-forecast-day-error" errors={errors} name="forecast.day" />
          </>
        )}
        <label>
          {t("admin.whatif.replications")}
          <input type="number" min={2} max={50} required value={replications} onInput={(e) => setReplications(e.currentTarget.value)} aria-describedby={errors.replications ? "whatif-rep-error" : undefined} />
        </label>
        <FieldError id="whatif-rep-error" errors={errors} name="replications" />
        <FormError errors={errors} />
        <OtherErrors errors={errors} shown={(name) => ["day", "replications", "forecast.id", "forecast.day"].includes(name)} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy || (source === "forecast" && !forecastId)}>
            {busy ? t("admin.whatif.running") : t("admin.whatif.run")}
          </button>
          <button type="button" onClick={onClose}>
            {t("admin.cancel")}
          </button>
        </div>
      </form>
      <div aria-live="polite">
        {result && (
          <table data-testid="whatif-result">
            <caption>
              {t("admin.whatif.caption", { day: result.day, agents: result.agents, contacts: new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(result.streams.reduce((n, s) => n + s.contacts, 0)) })}
              {" "}
              {result.sources.volumes === "forecast"
                ? t("admin.whatif.sourcesForecast", { reference: result.sources.reference_day })
                : t("admin.whatif.sourcesRecorded")}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t("admin.whatif.queue")}</th>
                <th scope="col">{t("admin.whatif.figure")}</th>
                <th scope="col">{t("admin.whatif.now")}</th>
                <th scope="col">{t("admin.whatif.after")}</th>
                <th scope="col">{t("admin.whatif.difference")}</th>
                <th scope="col">{t("admin.whatif.effect.title")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={`${row.queueId ?? ""}/${row.figure}`} data-queue={row.queueId ?? ""} data-figure={row.figure} data-effect={row.effect}>
                  <th scope="row">{row.queueId ?? t("admin.whatif.center")}</th>
                  <td>{t(`admin.whatif.figures.${row.figure}`)}</td>
                  <td>{formatCell(row.figure, row.baseline, lang)}</td>
                  <td>{formatCell(row.figure, row.change, lang)}</td>
                  <td>{formatCell(row.figure, row.difference, lang)}</td>
                  <td class={`effect-${row.effect}`}>{effectText(row)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
