import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { formatDateTime, t } from "../i18n";
import { errorsOf, FieldError, FormError, OtherErrors, type Errors } from "./Problem";

type Token = Schemas["TokenOut"];
type User = Schemas["UserOut"];

interface Draft {
  name: string;
  user_id: string;
  expires_in_days: string;
}

const SHOWN = new Set(["name", "user_id", "expires_in_days"]);

/** API tokens: list, create (the secret is shown once, here, and never again: the API keeps
 * only its hash), revoke after a confirmation. A token acts as its user, with that user's role:
 * the list shows both, since tokens have no scopes of their own. */
export function ApiTokens() {
  const [tokens, setTokens] = useState<Token[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [created, setCreated] = useState<Schemas["TokenCreated"] | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  // Where the keyboard goes when the secret is put away (its box, focused, disappears).
  const newButton = useRef<HTMLButtonElement>(null);

  async function attempt(fn: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setErrors({});
    try {
      await fn();
      const [tk, us] = await Promise.all([ok(api.GET("/api/v1/api-tokens")), ok(api.GET("/api/v1/users"))]);
      setTokens(tk);
      setUsers(us);
      return true;
    } catch (e) {
      setErrors(errorsOf(e));
      return false;
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => void attempt(async () => {}), []);
  const userOf = (id: string) => users.find((u) => u.id === id);
  const set = (name: keyof Draft) => (e: Event) => setDraft({ ...(draft as Draft), [name]: (e.target as HTMLInputElement).value });

  async function create(d: Draft) {
    const days = d.expires_in_days.trim();
    const issued = await ok(
      api.POST("/api/v1/api-tokens", {
        body: { name: d.name.trim(), user_id: d.user_id, expires_in_days: days ? Number(days) : null },
      }),
    );
    setCreated(issued);
  }

  return (
    <section aria-labelledby="admin-tokens-title" data-testid="admin-tokens">
      <h2 id="admin-tokens-title">{t("admin.tokens.title")}</h2>
      <p class="muted">{t("admin.tokens.help")}</p>
      {created && (
        <NewSecret
          token={created}
          onDone={() => {
            setCreated(null);
            newButton.current?.focus();
          }}
        />
      )}
      <table>
        <caption class="visually-hidden">{t("admin.tokens.title")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.tokens.name")}</th>
            <th scope="col">{t("admin.tokens.actsAs")}</th>
            <th scope="col">{t("admin.tokens.created")}</th>
            <th scope="col">{t("admin.tokens.lastUsed")}</th>
            <th scope="col">{t("admin.tokens.expires")}</th>
            <th scope="col">{t("admin.tokens.status")}</th>
            <th scope="col">{t("admin.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {tokens.length === 0 && (
            <tr>
              <td colSpan={7} class="muted">
                {t("admin.tokens.none")}
              </td>
            </tr>
          )}
          {tokens.map((tk) => {
            const user = userOf(tk.user_id);
            return (
              <tr key={tk.id} data-token={tk.name}>
                <td>{tk.name}</td>
                <td>{user ? `${user.display_name} (${t(`admin.role.${user.role}`)})` : tk.user_id}</td>
                <td>{formatDateTime(tk.created_at)}</td>
                <td>{tk.last_used_at ? formatDateTime(tk.last_used_at) : t("admin.tokens.never")}</td>
                <td>{tk.expires_at ? formatDateTime(tk.expires_at) : t("admin.tokens.noExpiry")}</td>
                <td>{tk.revoked_at ? t("admin.tokens.revokedAt", { when: formatDateTime(tk.revoked_at) }) : t("admin.tokens.active")}</td>
                <td class="inline">
                  {!tk.revoked_at && confirming !== tk.id && (
                    <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(tk.id)}>
                      {t("admin.tokens.revoke", { name: tk.name })}
                    </button>
                  )}
                  {!tk.revoked_at && confirming === tk.id && (
                    <ConfirmRevoke
                      name={tk.name}
                      busy={busy}
                      onCancel={() => setConfirming(null)}
                      onConfirm={() =>
                        void attempt(() => ok(api.DELETE("/api/v1/api-tokens/{token_id}", { params: { path: { token_id: tk.id } } }))).then(
                          () => setConfirming(null),
                        )
                      }
                    />
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {draft === null ? (
        <button
          type="button"
          ref={newButton}
          onClick={() => {
            setErrors({});
            setCreated(null);
            setDraft({ name: "", user_id: users.find((u) => u.active)?.id ?? "", expires_in_days: "" }); // the first option shown
          }}
        >
          {t("admin.tokens.new")}
        </button>
      ) : (
        <form
          class="admin-form"
          aria-labelledby="admin-token-form-title"
          onSubmit={(e) => {
            e.preventDefault();
            void attempt(() => create(draft)).then((done) => done && setDraft(null));
          }}
        >
          <h3 id="admin-token-form-title">{t("admin.tokens.new")}</h3>
          <label>
            {t("admin.tokens.name")}
            <input type="text" required value={draft.name} onInput={set("name")} aria-invalid={!!errors.name} aria-describedby="token-name-error" />
            <FieldError id="token-name-error" errors={errors} name="name" />
          </label>
          <label>
            {t("admin.tokens.actsAs")}
            <select value={draft.user_id} onChange={set("user_id")} aria-invalid={!!errors.user_id} aria-describedby="token-user-error">
              {users
                .filter((u) => u.active)
                .map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.display_name} ({t(`admin.role.${u.role}`)})
                  </option>
                ))}
            </select>
            <FieldError id="token-user-error" errors={errors} name="user_id" />
          </label>
          <label>
            {t("admin.tokens.expiresInDays")}
            <input
              type="number"
              min={1}
              max={3650}
              value={draft.expires_in_days}
              onInput={set("expires_in_days")}
              aria-invalid={!!errors.expires_in_days}
              aria-describedby="token-expiry-error"
            />
            <FieldError id="token-expiry-error" errors={errors} name="expires_in_days" />
          </label>
          <OtherErrors errors={errors} shown={(n) => SHOWN.has(n)} />
          <div class="inline">
            <button type="submit" class="primary" disabled={busy}>
              {t("admin.tokens.create")}
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

/** The secret of the token just created: the only time anyone sees it. Focus moves here so a
 * keyboard or screen-reader user does not miss it. */
function NewSecret({ token, onDone }: { token: Schemas["TokenCreated"]; onDone: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  useEffect(() => box.current?.focus(), []);
  return (
    <div class="notice token-secret" role="region" aria-labelledby="token-secret-title" tabIndex={-1} ref={box} data-testid="token-secret">
      <h3 id="token-secret-title">{t("admin.tokens.secretTitle", { name: token.name })}</h3>
      <p>
        <strong>{t("admin.tokens.secretOnce")}</strong>
      </p>
      <label>
        {t("admin.tokens.secret")}
        <input type="text" readOnly value={token.token} data-testid="token-secret-value" onFocus={(e) => (e.target as HTMLInputElement).select()} />
      </label>
      <div class="inline">
        <button
          type="button"
          onClick={() =>
            navigator.clipboard
              .writeText(token.token)
              .then(() => setCopied("yes"))
              .catch(() => setCopied("no"))
          }
        >
          {t("admin.tokens.copy")}
        </button>
        <button type="button" onClick={onDone}>
          {t("admin.tokens.secretDone")}
        </button>
        <span role="status">{copied === "yes" ? t("admin.tokens.copied") : copied === "no" ? t("admin.tokens.copyFailed") : ""}</span>
      </div>
    </div>
  );
}

function ConfirmRevoke({ name, busy, onConfirm, onCancel }: { name: string; busy: boolean; onConfirm: () => void; onCancel: () => void }) {
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <span role="group" aria-label={t("admin.tokens.confirmRevoke", { name })} class="inline">
      <span>{t("admin.tokens.confirmRevoke", { name })}</span>
      <button type="button" class="danger" ref={first} disabled={busy} onClick={onConfirm}>
        {t("admin.tokens.confirmYes", { name })}
      </button>
      <button type="button" onClick={onCancel}>
        {t("admin.cancel")}
      </button>
    </span>
  );
}
