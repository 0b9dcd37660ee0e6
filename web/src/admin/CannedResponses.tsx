import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { t } from "../i18n";
import { FieldError, FormError, OtherErrors, type Errors } from "./Problem";
import { sectionErrors } from "./sectionErrors";

type Canned = Schemas["CannedOut"];
interface Draft {
  id: string | null;
  version: number | null;
  shortcut: string;
  title: string;
  text: string;
}
const EMPTY: Draft = { id: null, version: null, shortcut: "", title: "", text: "" };
const SHOWN = new Set(["shortcut", "title", "text", "version"]);

/** Canned responses: the replies agents insert by shortcut. Edited on the version shown, so a
 * second editor's save never silently undoes the first's; deleted after a confirmation. */
export function CannedResponses() {
  const [items, setItems] = useState<Canned[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);

  async function attempt(fn: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setErrors({});
    try {
      await fn();
      setItems(await ok(api.GET("/api/v1/channels/canned-responses")));
      return true;
    } catch (e) {
      setErrors(sectionErrors(e, "admin.canned.conflict"));
      return false;
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => void attempt(async () => {}), []);
  const set = (name: "shortcut" | "title" | "text") => (e: Event) => setDraft({ ...(draft as Draft), [name]: (e.target as HTMLInputElement).value });

  async function save(d: Draft) {
    const body = { shortcut: d.shortcut.trim(), title: d.title.trim(), text: d.text };
    if (d.id === null) await ok(api.POST("/api/v1/channels/canned-responses", { body }));
    else await ok(api.PUT("/api/v1/channels/canned-responses/{canned_id}", { params: { path: { canned_id: d.id } }, body: { ...body, version: d.version } }));
  }

  return (
    <section aria-labelledby="admin-canned-title" data-testid="admin-canned">
      <h2 id="admin-canned-title">{t("admin.canned.title")}</h2>
      <p class="muted">{t("admin.canned.help")}</p>
      <table>
        <caption class="visually-hidden">{t("admin.canned.title")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.canned.shortcut")}</th>
            <th scope="col">{t("admin.canned.titleField")}</th>
            <th scope="col">{t("admin.canned.text")}</th>
            <th scope="col">{t("admin.queues.version")}</th>
            <th scope="col">{t("admin.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {items.length === 0 && (
            <tr>
              <td colSpan={5} class="muted">
                {t("admin.canned.none")}
              </td>
            </tr>
          )}
          {items.map((c) => (
            <tr key={c.id} data-canned={c.shortcut}>
              <td>
                <code>{c.shortcut}</code>
              </td>
              <td>{c.title}</td>
              <td class="clip">{c.text}</td>
              <td>{c.version}</td>
              <td class="inline">
                <button type="button" onClick={() => { setErrors({}); setDraft({ id: c.id, version: c.version, shortcut: c.shortcut, title: c.title, text: c.text }); }}>
                  {t("admin.edit", { name: c.shortcut })}
                </button>
                {confirming === c.id ? (
                  <ConfirmDelete
                    name={c.shortcut}
                    busy={busy}
                    onCancel={() => setConfirming(null)}
                    onConfirm={() =>
                      void attempt(() => ok(api.DELETE("/api/v1/channels/canned-responses/{canned_id}", { params: { path: { canned_id: c.id }, query: { version: c.version } } }))).then(() =>
                        setConfirming(null),
                      )
                    }
                  />
                ) : (
                  <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(c.id)}>
                    {t("admin.canned.delete", { name: c.shortcut })}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {draft === null ? (
        <button type="button" onClick={() => { setErrors({}); setDraft({ ...EMPTY }); }}>
          {t("admin.canned.new")}
        </button>
      ) : (
        <form
          class="admin-form"
          aria-labelledby="admin-canned-form-title"
          onSubmit={(e) => {
            e.preventDefault();
            void attempt(() => save(draft)).then((done) => done && setDraft(null));
          }}
        >
          <h3 id="admin-canned-form-title">{draft.id ? t("admin.canned.editTitle", { name: draft.shortcut, version: draft.version ?? "" }) : t("admin.canned.new")}</h3>
          <label>
            {t("admin.canned.shortcut")}
            <input type="text" required value={draft.shortcut} onInput={set("shortcut")} aria-invalid={!!errors.shortcut} aria-describedby="canned-shortcut-error canned-shortcut-help" />
            <FieldError id="canned-shortcut-error" errors={errors} name="shortcut" />
          </label>
          <span id="canned-shortcut-help" class="muted">
            {t("admin.canned.shortcutHelp")}
          </span>
          <label>
            {t("admin.canned.titleField")}
            <input type="text" required value={draft.title} onInput={set("title")} aria-invalid={!!errors.title} aria-describedby="canned-title-error" />
            <FieldError id="canned-title-error" errors={errors} name="title" />
          </label>
          <label>
            {t("admin.canned.text")}
            <textarea required rows={4} value={draft.text} onInput={set("text")} aria-invalid={!!errors.text} aria-describedby="canned-text-error" />
            <FieldError id="canned-text-error" errors={errors} name="text" />
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

function ConfirmDelete({ name, busy, onConfirm, onCancel }: { name: string; busy: boolean; onConfirm: () => void; onCancel: () => void }) {
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <span role="group" aria-label={t("admin.canned.confirmDelete", { name })} class="inline">
      <span>{t("admin.canned.confirmDelete", { name })}</span>
      <button type="button" class="danger" ref={first} disabled={busy} onClick={onConfirm}>
        {t("admin.canned.deleteYes", { name })}
      </button>
      <button type="button" onClick={onCancel}>
        {t("admin.cancel")}
      </button>
    </span>
  );
}
