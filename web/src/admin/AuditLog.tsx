import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { formatDateTime, t } from "../i18n";
import { type Filters, NONE, PAGE, queryOf } from "./auditQuery";
import { errorsOf, FieldError, FormError, type Errors } from "./Problem";

type Entry = Schemas["AuditOut"];
type User = Schemas["UserOut"];
/** A short line for an entry's details ("name: crm-sync, user: Alex"); the whole in <details>. */
function summary(details: Record<string, unknown>, userName: (id: string) => string | null): string {
  return Object.entries(details)
    .map(([key, value]) => {
      const shown = typeof value === "string" ? (key.endsWith("user_id") ? (userName(value) ?? value) : value) : JSON.stringify(value);
      return `${key}: ${shown}`;
    })
    .join(", ");
}

/** The audit log: newest first, filtered by the API (action, target type, who, date range),
 * older pages on request. The filters apply when submitted, so paging never mixes two queries. */
export function AuditLog() {
  const [users, setUsers] = useState<User[]>([]);
  const [draft, setDraft] = useState<Filters>(NONE);
  const [applied, setApplied] = useState<Filters>(NONE);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [more, setMore] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);

  async function load(filters: Filters, before: number | null) {
    setBusy(true);
    setErrors({});
    try {
      const query = { ...queryOf(filters), ...(before === null ? {} : { before }) };
      const page = await ok(api.GET("/api/v1/audit-log", { params: { query } }));
      setEntries((old) => (before === null ? page : [...old, ...page]));
      setMore(page.length === PAGE);
      setApplied(filters);
    } catch (e) {
      setErrors(errorsOf(e));
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => {
    void ok(api.GET("/api/v1/users")).then(setUsers, (e) => setErrors(errorsOf(e)));
    void load(NONE, null);
  }, []);
  const userName = (id: string) => users.find((u) => u.id === id)?.display_name ?? null;
  const who = (e: Entry) => {
    if (e.actor_user_id === null) return t("admin.audit.system");
    const name = userName(e.actor_user_id) ?? e.actor_user_id;
    return e.actor_token_id ? t("admin.audit.viaToken", { name }) : name;
  };
  const set = (name: keyof Filters) => (e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value });
  // A date range's refusal names since/until; the form's fields are from/to.
  const fieldError = { ...errors, from: errors.since ?? "", to: errors.until ?? "" };

  return (
    <section aria-labelledby="admin-audit-title" data-testid="admin-audit">
      <h2 id="admin-audit-title">{t("admin.audit.title")}</h2>
      <form
        class="admin-form audit-filters"
        aria-label={t("admin.audit.filters")}
        onSubmit={(e) => {
          e.preventDefault();
          void load(draft, null);
        }}
      >
        <div class="field">
          <label>
            {t("admin.audit.action")}
            <input type="text" value={draft.action} onInput={set("action")} aria-invalid={!!errors.action} aria-describedby="audit-action-help audit-action-error" />
          </label>
          {/* Outside the label: the field's name stays "Action", the help is its description. */}
          <span id="audit-action-help" class="muted">
            {t("admin.audit.actionHelp")}
          </span>
          <FieldError id="audit-action-error" errors={errors} name="action" />
        </div>
        <label>
          {t("admin.audit.targetType")}
          <input type="text" value={draft.target_type} onInput={set("target_type")} aria-invalid={!!errors.target_type} aria-describedby="audit-type-error" />
          <FieldError id="audit-type-error" errors={errors} name="target_type" />
        </label>
        <label>
          {t("admin.audit.who")}
          <select value={draft.actor_user_id} onChange={set("actor_user_id")}>
            <option value="">{t("admin.audit.anyone")}</option>
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.display_name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("admin.audit.from")}
          <input type="date" value={draft.from} onInput={set("from")} aria-invalid={!!errors.since} aria-describedby="audit-from-error" />
          <FieldError id="audit-from-error" errors={fieldError} name="from" />
        </label>
        <label>
          {t("admin.audit.to")}
          <input type="date" value={draft.to} onInput={set("to")} aria-invalid={!!errors.until} aria-describedby="audit-to-error" />
          <FieldError id="audit-to-error" errors={fieldError} name="to" />
        </label>
        <div class="inline">
          <button type="submit" class="primary" disabled={busy}>
            {t("admin.audit.apply")}
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() => {
              setDraft(NONE);
              void load(NONE, null);
            }}
          >
            {t("admin.audit.clear")}
          </button>
        </div>
      </form>
      <FormError errors={errors} />
      <table data-testid="audit-entries">
        <caption class="visually-hidden">{t("admin.audit.title")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.audit.when")}</th>
            <th scope="col">{t("admin.audit.who")}</th>
            <th scope="col">{t("admin.audit.action")}</th>
            <th scope="col">{t("admin.audit.target")}</th>
            <th scope="col">{t("admin.audit.details")}</th>
          </tr>
        </thead>
        <tbody>
          {entries.length === 0 && !busy && (
            <tr>
              <td colSpan={5} class="muted">
                {applied === NONE ? t("admin.audit.empty") : t("admin.audit.noMatch")}
              </td>
            </tr>
          )}
          {entries.map((e) => {
            const line = summary(e.details, userName);
            return (
              <tr key={e.id} data-audit-id={e.id} data-action={e.action}>
                <td>{formatDateTime(e.at)}</td>
                <td>{who(e)}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>
                  {e.target_type} <code>{e.target_id}</code>
                </td>
                <td>
                  {line ? (
                    <details>
                      <summary>{line.length > 80 ? `${line.slice(0, 79)}…` : line}</summary>
                      <pre>{JSON.stringify(e.details, null, 2)}</pre>
                    </details>
                  ) : (
                    <span class="muted">—</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {more && (
        <button type="button" disabled={busy} onClick={() => void load(applied, entries[entries.length - 1].id)}>
          {t("admin.audit.older")}
        </button>
      )}
    </section>
  );
}
