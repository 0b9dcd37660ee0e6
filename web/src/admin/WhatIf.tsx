import { useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { language, t } from "../i18n";
import { errorsOf, FieldError, FormError, OtherErrors, type Errors } from "./Problem";
import { comparison, formatCell, yesterday, type Row } from "./whatIf";

type Definition = Schemas["QueueDefinition"];
type Result = Schemas["WhatIfOut"];

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
  const [day, setDay] = useState(yesterday());
  const [replications, setReplications] = useState("10");
  const [result, setResult] = useState<Result | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const lang = language();

  async function run(e: Event) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setResult(null);
    try {
      const body = { day, queues: [change as Record<string, unknown>], replications: Number(replications), seed: 0 };
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
        <label>
          {t("admin.whatif.day")}
          <input type="date" required value={day} onInput={(e) => setDay(e.currentTarget.value)} aria-describedby={errors.day ? "whatif-day-error" : undefined} aria-invalid={errors.day ? true : undefined} />
        </label>
        <FieldError id="whatif-day-error" errors={errors} name="day" />
        <label>
          {t("admin.whatif.replications")}
          <input type="number" min={2} max={50} required value={replications} onInput={(e) => setReplications(e.currentTarget.value)} aria-describedby={errors.replications ? "whatif-rep-error" : undefined} />
        </label>
        <FieldError id="whatif-rep-error" errors={errors} name="replications" />
        <FormError errors={errors} />
        <OtherErrors errors={errors} shown={(name) => name === "day" || name === "replications"} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
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
              {t("admin.whatif.caption", { day: result.day, agents: result.agents, contacts: result.streams.reduce((n, s) => n + s.contacts, 0) })}
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
