import { useState } from "preact/hooks";
import { ApiError } from "./api/client";
import { LanguagePicker } from "./components/LanguagePicker";
import { t } from "./i18n";
import { homeOf, lastTenant, logIn } from "./session";

/** Where to go after logging in: the page the user was sent away from, if it is one of ours. */
export function nextPage(search: string): string | null {
  const next = new URLSearchParams(search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : null;
}

export function Login({ onLanguage }: { onLanguage: () => void }) {
  const [tenant, setTenant] = useState(lastTenant());
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const expired = new URLSearchParams(location.search).has("expired");

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const user = await logIn(tenant, username, password);
      location.assign(nextPage(location.search) ?? homeOf(user));
    } catch (e) {
      const status = e instanceof ApiError ? e.status : 0;
      setError(status === 401 ? t("login.wrong") : status === 429 ? t("login.throttled") : t("login.failed"));
      setBusy(false);
    }
  }

  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Omnidesk</h1>
        {expired && <p class="notice" role="status">{t("login.expired")}</p>}
        <label>
          {t("login.tenant")}
          <input name="tenant" autoComplete="organization" required value={tenant} onInput={(e) => setTenant((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t("login.username")}
          <input name="username" autoComplete="username" required value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t("login.password")}
          <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={busy}>
          {t("login.submit")}
        </button>
        <LanguagePicker onChange={onLanguage} />
      </form>
    </main>
  );
}
