import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { t } from "../i18n";
import { FieldError, FormError, OtherErrors, type Errors } from "./Problem";
import { sectionErrors } from "./sectionErrors";

type Code = Schemas["DispositionOut"];
interface Draft {
  isNew: boolean;
  code: string;
  label: string;
  resolved: boolean;
  category: string;
}
const EMPTY: Draft = { isNew: true, code: "", label: "", resolved: false, category: "" };
const SHOWN = new Set(["code", "label", "resolved", "category"]);

/** Wrap-up codes (dispositions): what agents pick when they end a wrap-up. A code is never
 * deleted, since records name it: it is retired (agents no longer see it) or brought back. */
export function WrapUpCodes() {
  const [codes, setCodes] = useState<Code[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);

  async function attempt(fn: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setErrors({});
    try {
      await fn();
      setCodes(await ok(api.GET("/api/v1/crm/dispositions")));
      return true;
    } catch (e) {
      setErrors(sectionErrors(e, "admin.wrapup.conflict"));
      return false;
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => void attempt(async () => {}), []);
  const set = (name: "code" | "label" | "category") => (e: Event) => setDraft({ ...(draft as Draft), [name]: (e.target as HTMLInputElement).value });
  const patch = (code: string, body: Schemas["DispositionUpdate"]) => ok(api.PATCH("/api/v1/crm/dispositions/{code}", { params: { path: { code } }, body }));

  async function save(d: Draft) {
    const category = d.category.trim() || null;
    if (d.isNew) await ok(api.POST("/api/v1/crm/dispositions", { body: { code: d.code.trim(), label: d.label.trim(), resolved: d.resolved, category } }));
    else await patch(d.code, { label: d.label.trim(), resolved: d.resolved, category });
  }

  return (
    <section aria-labelledby="admin-wrapup-title" data-testid="admin-wrapup">
      <h2 id="admin-wrapup-title">{t("admin.wrapup.title")}</h2>
      <p class="muted">{t("admin.wrapup.help")}</p>
      <table>
        <caption class="visually-hidden">{t("admin.wrapup.title")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.wrapup.code")}</th>
            <th scope="col">{t("admin.wrapup.label")}</th>
            <th scope="col">{t("admin.wrapup.resolved")}</th>
            <th scope="col">{t("admin.wrapup.category")}</th>
            <th scope="col">{t("admin.users.status")}</th>
            <th scope="col">{t("admin.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {codes.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">
                {t("admin.wrapup.none")}
              </td>
            </tr>
          )}
          {codes.map((c) => (
            <tr key={c.id} data-code={c.code}>
              <td>
                <code>{c.code}</code>
              </td>
              <td>{c.label}</td>
              <td>{c.resolved ? t("admin.wrapup.yes") : t("admin.wrapup.no")}</td>
              <td>{c.category ?? ""}</td>
              <td>{c.active ? t("admin.users.active") : t("admin.wrapup.retired")}</td>
              <td class="inline">
                <button type="button" onClick={() => { setErrors({}); setDraft({ isNew: false, code: c.code, label: c.label, resolved: c.resolved, category: c.category ?? "" }); }}>
                  {t("admin.edit", { name: c.code })}
                </button>
                <button type="button" class={c.active ? "danger" : undefined} disabled={busy} onClick={() => void attempt(() => patch(c.code, { active: !c.active }))}>
                  {c.active ? t("admin.wrapup.retire", { name: c.code }) : t("admin.wrapup.restore", { name: c.code })}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {draft === null ? (
        <button type="button" onClick={() => { setErrors({}); setDraft({ ...EMPTY }); }}>
          {t("admin.wrapup.new")}
        </button>
      ) : (
        <form
          class="admin-form"
          aria-labelledby="admin-wrapup-form-title"
          onSubmit={(e) => {
            e.preventDefault();
            void attempt(() => save(draft)).then((done) => done && setDraft(null));
          }}
        >
          <h3 id="admin-wrapup-form-title">{draft.isNew ? t("admin.wrapup.new") : t("admin.edit", { name: draft.code })}</h3>
          <label>
            {t("admin.wrapup.code")}
            <input type="text" required disabled={!draft.isNew} value={draft.code} onInput={set("code")} aria-invalid={!!errors.code} aria-describedby="wrapup-code-error wrapup-code-help" />
            <FieldError id="wrapup-code-error" errors={errors} name="code" />
          </label>
          <span id="wrapup-code-help" class="muted">
            {t("admin.wrapup.codeHelp")}
          </span>
          <label>
            {t("admin.wrapup.label")}
            <input type="text" required value={draft.label} onInput={set("label")} aria-invalid={!!errors.label} aria-describedby="wrapup-label-error" />
            <FieldError id="wrapup-label-error" errors={errors} name="label" />
          </label>
          <label class="inline">
            <input type="checkbox" checked={draft.resolved} onChange={(e) => setDraft({ ...draft, resolved: (e.target as HTMLInputElement).checked })} />
            {t("admin.wrapup.resolvedHelp")}
          </label>
          <label>
            {t("admin.wrapup.category")}
            <input type="text" value={draft.category} onInput={set("category")} aria-invalid={!!errors.category} aria-describedby="wrapup-category-error" />
            <FieldError id="wrapup-category-error" errors={errors} name="category" />
          </label>
          <OtherErrors errors={errors} shown={(n) => SHOWN.has(n)} />
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
