import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { t } from "../i18n";
import { blankCriterion, type Criterion, criterionBody, type Scorecard } from "../supervisor/quality";
import { FieldError, FormError, OtherErrors, type Errors } from "./Problem";
import { sectionErrors } from "./sectionErrors";

interface Draft {
  id: string | null;
  version: number | null;
  name: string;
  enabled: boolean;
  criteria: Criterion[];
}
const SHOWN = new Set(["name"]);

/** Quality scorecards: the criteria supervisors grade contacts by (docs/supervisor-guide.md).
 * Each save makes a new version; a save on an older one is refused and told. Evaluations keep
 * the criteria they were graded on, so a used scorecard may be edited. */
export function Scorecards() {
  const [cards, setCards] = useState<Scorecard[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);

  async function attempt(fn: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setErrors({});
    try {
      await fn();
      setCards(await ok(api.GET("/api/v1/quality/scorecards")));
      return true;
    } catch (e) {
      setErrors(sectionErrors(e, "admin.scorecards.conflict"));
      return false;
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => void attempt(async () => {}), []);

  async function save(d: Draft) {
    const body = { name: d.name.trim(), enabled: d.enabled, criteria: d.criteria.map(criterionBody) };
    if (d.id === null) await ok(api.POST("/api/v1/quality/scorecards", { body }));
    else await ok(api.PUT("/api/v1/quality/scorecards/{scorecard_id}", { params: { path: { scorecard_id: d.id } }, body: { ...body, version: d.version } }));
  }
  const remove = (c: Scorecard) => attempt(() => ok(api.DELETE("/api/v1/quality/scorecards/{scorecard_id}", { params: { path: { scorecard_id: c.id }, query: { version: c.version } } })));
  const setCriterion = (index: number, change: Partial<Criterion>) => {
    if (!draft) return;
    setDraft({ ...draft, criteria: draft.criteria.map((c, i) => (i === index ? { ...c, ...change } : c)) });
  };

  return (
    <section aria-labelledby="admin-scorecards-title" data-testid="admin-scorecards">
      <h2 id="admin-scorecards-title">{t("admin.scorecards.title")}</h2>
      <p class="muted">{t("admin.scorecards.help")}</p>
      <table>
        <caption class="visually-hidden">{t("admin.scorecards.title")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.scorecards.name")}</th>
            <th scope="col">{t("admin.scorecards.criteria")}</th>
            <th scope="col">{t("admin.scorecards.version")}</th>
            <th scope="col">{t("admin.users.status")}</th>
            <th scope="col">{t("admin.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {cards.length === 0 && (
            <tr>
              <td colSpan={5} class="muted">
                {t("admin.scorecards.none")}
              </td>
            </tr>
          )}
          {cards.map((c) => (
            <tr key={c.id} data-scorecard={c.name}>
              <td>{c.name}</td>
              <td>{c.criteria.length}</td>
              <td>{c.version}</td>
              <td>{c.enabled ? t("admin.users.active") : t("admin.scorecards.disabled")}</td>
              <td class="inline">
                <button type="button" onClick={() => { setErrors({}); setDraft({ id: c.id, version: c.version, name: c.name, enabled: c.enabled, criteria: c.criteria.map((x) => ({ ...x })) }); }}>
                  {t("admin.edit", { name: c.name })}
                </button>
                <button type="button" class="danger" disabled={busy} onClick={() => void remove(c)}>
                  {t("admin.scorecards.delete", { name: c.name })}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {draft === null ? (
        <button type="button" onClick={() => { setErrors({}); setDraft({ id: null, version: null, name: "", enabled: true, criteria: [blankCriterion(0)] }); }}>
          {t("admin.scorecards.new")}
        </button>
      ) : (
        <form
          class="admin-form"
          aria-labelledby="admin-scorecard-form-title"
          onSubmit={(e) => {
            e.preventDefault();
            void attempt(() => save(draft)).then((done) => done && setDraft(null));
          }}
        >
          <h3 id="admin-scorecard-form-title">{draft.id === null ? t("admin.scorecards.new") : t("admin.edit", { name: draft.name })}</h3>
          <label>
            {t("admin.scorecards.name")}
            <input type="text" required value={draft.name} onInput={(e) => setDraft({ ...draft, name: (e.target as HTMLInputElement).value })} aria-invalid={!!errors.name} aria-describedby="scorecard-name-error" />
            <FieldError id="scorecard-name-error" errors={errors} name="name" />
          </label>
          <label class="inline">
            <input type="checkbox" checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: (e.target as HTMLInputElement).checked })} />
            {t("admin.scorecards.enabled")}
          </label>
          {draft.criteria.map((c, i) => (
            <fieldset key={i} data-criterion-row={i}>
              <legend>{t("admin.scorecards.criterion", { n: i + 1 })}</legend>
              <label>
                {t("admin.scorecards.criterionId")}
                <input type="text" required pattern="[a-z][a-z0-9_]*" value={c.id} onInput={(e) => setCriterion(i, { id: (e.target as HTMLInputElement).value })} />
                <FieldError id={`criterion-${i}-id-error`} errors={errors} name={`criteria.${i}.id`} />
              </label>
              <label>
                {t("admin.scorecards.text")}
                <input type="text" required value={c.text} onInput={(e) => setCriterion(i, { text: (e.target as HTMLInputElement).value })} />
              </label>
              <label>
                {t("admin.scorecards.kind")}
                <select value={c.kind} onChange={(e) => setCriterion(i, { kind: (e.target as HTMLSelectElement).value as Criterion["kind"] })}>
                  <option value="yes_no">{t("admin.scorecards.yesNo")}</option>
                  <option value="points">{t("admin.scorecards.points")}</option>
                </select>
              </label>
              <label>
                {t("admin.scorecards.weight")}
                <input type="number" min={0} max={100} required value={c.weight ?? 1} onInput={(e) => setCriterion(i, { weight: Number((e.target as HTMLInputElement).value) })} />
              </label>
              {c.kind === "points" ? (
                <label>
                  {t("admin.scorecards.maxPoints")}
                  <input type="number" min={1} max={100} required value={c.max_points ?? 5} onInput={(e) => setCriterion(i, { max_points: Number((e.target as HTMLInputElement).value) })} />
                </label>
              ) : (
                <label class="inline">
                  <input type="checkbox" checked={!!c.auto_fail} onChange={(e) => setCriterion(i, { auto_fail: (e.target as HTMLInputElement).checked })} />
                  {t("admin.scorecards.autoFail")}
                </label>
              )}
              <button type="button" disabled={draft.criteria.length === 1} onClick={() => setDraft({ ...draft, criteria: draft.criteria.filter((_, j) => j !== i) })}>
                {t("admin.scorecards.removeCriterion", { n: i + 1 })}
              </button>
            </fieldset>
          ))}
          <button type="button" onClick={() => setDraft({ ...draft, criteria: [...draft.criteria, blankCriterion(draft.criteria.length)] })}>
            {t("admin.scorecards.addCriterion")}
          </button>
          <OtherErrors errors={errors} shown={(n) => SHOWN.has(n) || /^criteria\.\d+\.id$/.test(n)} />
          <div class="inline">
            <button type="submit" class="primary" disabled={busy}>
              {t("admin.save")}
            </button>
            <button type="button" onClick={() => setDraft(null)}>
              {t("admin.cancel")}
            </button>
          </div>
        </form>
      )}
      <FormError errors={errors} />
    </section>
  );
}
