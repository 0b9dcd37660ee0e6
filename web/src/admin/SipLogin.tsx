import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { t } from "../i18n";
import { randomSecret } from "./channels";
import { errorsOf, FieldError, FormError, OtherErrors, type Errors } from "./Problem";
import { SecretOnce } from "./SecretOnce";

type Credential = Schemas["SipCredentialOut"];
const SHOWN = new Set(["username", "password", "sip_domain"]);

/** An agent's SIP login for softphones: whether one exists (its username, never its password:
 * the server keeps only digests), create or reset it, remove it. The password is either made
 * by the browser (then shown once, like a token's secret) or typed by the admin (write-only). */
export function SipLogin({ userId, username: defaultUsername }: { userId: string; username: string }) {
  const [credential, setCredential] = useState<Credential | null>(null);
  const [username, setUsername] = useState("");
  const [mode, setMode] = useState<"generate" | "set">("generate");
  const [password, setPassword] = useState("");
  const [shownOnce, setShownOnce] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    ok(api.GET("/api/v1/voice/agents/{user_id}/sip", { params: { path: { user_id: userId } } }))
      .then((c) => {
        setCredential(c);
        // A SIP username may not hold every character a user name may: the admin edits it.
        setUsername(c.username ?? defaultUsername);
      })
      .catch((e) => setErrors(errorsOf(e)));
  }, [userId]);

  async function save() {
    setBusy(true);
    setErrors({});
    setStatus("");
    setShownOnce(null);
    const secret = mode === "generate" ? randomSecret(18) : password;
    try {
      const c = await ok(api.PUT("/api/v1/voice/agents/{user_id}/sip", { params: { path: { user_id: userId } }, body: { username: username.trim(), password: secret } }));
      setCredential(c);
      setPassword("");
      if (mode === "generate") setShownOnce(secret);
      else setStatus(t("admin.agents.sip.saved"));
    } catch (e) {
      setErrors(errorsOf(e));
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    setErrors({});
    setStatus("");
    try {
      await ok(api.DELETE("/api/v1/voice/agents/{user_id}/sip", { params: { path: { user_id: userId } } }));
      setCredential({ user_id: userId, username: null, set: false });
      setShownOnce(null);
      setConfirming(false);
      setStatus(t("admin.agents.sip.removed"));
    } catch (e) {
      setErrors(errorsOf(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="admin-sip-title" data-testid="admin-sip">
      <h3 id="admin-sip-title">{t("admin.agents.sip.title")}</h3>
      {credential && (
        <p data-testid="sip-state">
          {credential.set
            ? t("admin.agents.sip.exists", { username: credential.username ?? "", realm: credential.realm ?? "" })
            : t("admin.agents.sip.none")}
        </p>
      )}
      {shownOnce && <SecretOnce title={t("admin.agents.sip.passwordTitle", { username: credential?.username ?? "" })} label={t("admin.agents.sip.password")} value={shownOnce} note={t("admin.agents.sip.secretOnce")} onDone={() => setShownOnce(null)} />}
      {credential && (
        <form
          class="admin-form"
          aria-label={credential.set ? t("admin.agents.sip.reset") : t("admin.agents.sip.create")}
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <label>
            {t("admin.agents.sip.username")}
            <input
              type="text"
              autoComplete="off"
              value={username}
              onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
              aria-invalid={!!errors.username}
              aria-describedby={errors.username ? "sip-username-error" : undefined}
            />
            <FieldError id="sip-username-error" errors={errors} name="username" />
          </label>
          <fieldset>
            <legend>{t("admin.agents.sip.passwordChoice")}</legend>
            <label class="inline">
              <input type="radio" name="sip-password-mode" checked={mode === "generate"} onChange={() => setMode("generate")} />
              {t("admin.agents.sip.generate")}
            </label>
            <label class="inline">
              <input type="radio" name="sip-password-mode" checked={mode === "set"} onChange={() => setMode("set")} />
              {t("admin.agents.sip.setOwn")}
            </label>
            {mode === "set" && (
              <label>
                {t("admin.agents.sip.newPassword")}
                {/* Write-only: the server never returns it, and the field empties after a save. */}
                <input
                  type="password"
                  autoComplete="new-password"
                  value={password}
                  onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
                  aria-invalid={!!errors.password}
                  aria-describedby={errors.password ? "sip-password-error" : undefined}
                />
                <FieldError id="sip-password-error" errors={errors} name="password" />
              </label>
            )}
          </fieldset>
          {errors.sip_domain && (
            <p class="error" role="alert" data-field-error="sip_domain">
              {errors.sip_domain}
            </p>
          )}
          <OtherErrors errors={errors} shown={(n) => SHOWN.has(n)} />
          <div class="inline">
            <button type="submit" class="primary" disabled={busy}>
              {credential.set ? t("admin.agents.sip.reset") : t("admin.agents.sip.create")}
            </button>
            {credential.set && !confirming && (
              <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(true)}>
                {t("admin.agents.sip.remove")}
              </button>
            )}
            {confirming && (
              <span role="group" aria-label={t("admin.agents.sip.confirmRemove")} class="inline">
                <span>{t("admin.agents.sip.confirmRemove")}</span>
                <button type="button" class="danger" disabled={busy} onClick={() => void remove()} autoFocus>
                  {t("admin.agents.sip.removeYes")}
                </button>
                <button type="button" onClick={() => setConfirming(false)}>
                  {t("admin.cancel")}
                </button>
              </span>
            )}
            <span role="status" data-testid="sip-status">
              {status}
            </span>
          </div>
        </form>
      )}
      <FormError errors={errors} />
    </section>
  );
}
