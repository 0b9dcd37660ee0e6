import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { t } from "../i18n";
import { errorsOf, Field, FormError, OtherErrors, type Errors } from "./Problem";

type Settings = Schemas["VoiceSettingsOut"];

const SHOWN = new Set(["sip_domain", "language", "ring_timeout_s", "max_concurrent_calls", "reset_credentials"]);

/** The tenant's voice settings: the SIP domain (the realm of every softphone login: changing it
 * while logins exist needs them cleared, which the API refuses to do unasked), the prompts'
 * language, how long an agent's phone rings, and the concurrent-call limit. What the form does
 * not show (the consent prompt, the hold music) is sent back as it was. */
export function VoiceSettings() {
  const [current, setCurrent] = useState<Settings | null>(null);
  const [domain, setDomain] = useState("");
  const [language, setLanguage] = useState("en");
  const [ring, setRing] = useState("20");
  const [limit, setLimit] = useState("");
  const [reset, setReset] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);

  function show(s: Settings) {
    setCurrent(s);
    setDomain(s.sip_domain ?? "");
    setLanguage(s.language);
    setRing(String(s.ring_timeout_s));
    setLimit(s.max_concurrent_calls == null ? "" : String(s.max_concurrent_calls));
    setReset(false);
  }
  useEffect(() => void ok(api.GET("/api/v1/voice/settings")).then(show).catch((e) => setErrors(errorsOf(e))), []);

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setStatus("");
    try {
      const body = {
        sip_domain: domain.trim() || null,
        language,
        ring_timeout_s: Number(ring),
        max_concurrent_calls: limit.trim() === "" ? null : Number(limit),
        recording_consent_prompt: current?.recording_consent_prompt ?? null,
        default_moh: current?.default_moh ?? null,
        reset_credentials: reset,
      } as Schemas["VoiceSettingsIn"];
      show(await ok(api.PUT("/api/v1/voice/settings", { body })));
      setStatus(t("admin.voice.settings.saved"));
    } catch (err) {
      setErrors(errorsOf(err));
    } finally {
      setBusy(false);
    }
  }

  const input = (id: string, field: string, label: string, value: string, set: (v: string) => void, extra: Record<string, unknown> = {}) => (
    <Field id={id} field={field} label={label} errors={errors}>
      {(attrs) => <input {...attrs} {...extra} value={value} onInput={(e) => set((e.target as HTMLInputElement).value)} />}
    </Field>
  );

  // Nothing to edit before the settings are read: typing into the form would be overwritten.
  if (current === null) return <FormError errors={errors} />;
  return (
    <form class="admin-form" aria-labelledby="admin-voice-settings-title" data-testid="voice-settings" onSubmit={(e) => void save(e)}>
      <h3 id="admin-voice-settings-title">{t("admin.voice.settings.title")}</h3>
      {input("voice-sip-domain", "sip_domain", t("admin.voice.settings.domain"), domain, setDomain, { placeholder: "sip.example.com" })}
      {input("voice-language", "language", t("admin.voice.settings.language"), language, setLanguage)}
      {input("voice-ring", "ring_timeout_s", t("admin.voice.settings.ring"), ring, setRing, { type: "number", min: 5, max: 120 })}
      {input("voice-limit", "max_concurrent_calls", t("admin.voice.settings.limit"), limit, setLimit, { type: "number", min: 1 })}
      <label class="inline">
        <input type="checkbox" checked={reset} onChange={(e) => setReset((e.target as HTMLInputElement).checked)} />
        {t("admin.voice.settings.reset")}
      </label>
      <FormError errors={errors} />
      <OtherErrors errors={errors} shown={(name) => SHOWN.has(name)} />
      <div class="inline">
        <button type="submit" class="primary" disabled={busy}>
          {t("admin.voice.settings.save")}
        </button>
      </div>
      {status && (
        <p role="status" data-testid="voice-settings-saved">
          {status}
        </p>
      )}
    </form>
  );
}
