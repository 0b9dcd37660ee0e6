import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { t } from "../i18n";
import { AudioUpload } from "./AudioUpload";
import { Choices } from "./Choices";
import { errorsOf, Field, FormError, OtherErrors, type Errors } from "./Problem";
import { withoutErrors } from "./queueSettings";
import { consentDraft, consentJson, type ConsentDraft, type ConsentKind } from "./voicePolicy";

type Settings = Schemas["VoiceSettingsOut"];

const SHOWN = new Set(["sip_domain", "language", "ring_timeout_s", "max_concurrent_calls", "reset_credentials", "default_moh", "recording_consent_prompt"]);
const CONSENT_KINDS: ConsentKind[] = ["none", "text", "audio"];

/** The tenant's voice settings: the SIP domain (the realm of every softphone login: changing it
 * while logins exist needs them cleared, which the API refuses to do unasked), the prompts'
 * language, how long an agent's phone rings, the concurrent-call limit, the default hold music
 * and the recording consent prompt (spoken text or an uploaded file), both picked from the
 * tenant's uploaded audio. */
export function VoiceSettings() {
  const [current, setCurrent] = useState<Settings | null>(null);
  const [domain, setDomain] = useState("");
  const [language, setLanguage] = useState("en");
  const [ring, setRing] = useState("20");
  const [limit, setLimit] = useState("");
  const [reset, setReset] = useState(false);
  const [moh, setMoh] = useState("");
  const [consent, setConsent] = useState<ConsentDraft>(consentDraft(null));
  const [audio, setAudio] = useState<string[]>([]);
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
    setMoh(s.default_moh ?? "");
    setConsent(consentDraft(s.recording_consent_prompt));
  }
  const loadAudio = async () => setAudio((await ok(api.GET("/api/v1/voice/audio"))).map((a) => a.name));
  useEffect(() => {
    void ok(api.GET("/api/v1/voice/settings"))
      .then(show)
      .catch((e) => setErrors(errorsOf(e)));
    void loadAudio().catch((e) => setErrors(errorsOf(e)));
  }, []);

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
        recording_consent_prompt: consentJson(consent),
        default_moh: moh || null,
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

  // The prompt's refusals on the input of its kind: the whole prompt's ("give exactly one of
  // audio or text") and that of its text or file; the language's stay on the language.
  const consentErrors = (part: "text" | "audio"): Errors =>
    Object.fromEntries(Object.entries(errors).filter(([k]) => k === "recording_consent_prompt" || k === `recording_consent_prompt.${part}`));

  // Nothing to edit before the settings are read: typing into the form would be overwritten.
  if (current === null) return <FormError errors={errors} />;
  return (
    <form
      class="admin-form"
      aria-labelledby="admin-voice-settings-title"
      data-testid="voice-settings"
      // An input changed is no longer marked with the refusal of its old value.
      onInput={(e) => setErrors((now) => withoutErrors(now, (e.target as HTMLElement).dataset?.field))}
      onSubmit={(e) => void save(e)}
    >
      <h3 id="admin-voice-settings-title">{t("admin.voice.settings.title")}</h3>
      {input("voice-sip-domain", "sip_domain", t("admin.voice.settings.domain"), domain, setDomain, { placeholder: "sip.example.com" })}
      {input("voice-language", "language", t("admin.voice.settings.language"), language, setLanguage)}
      {input("voice-ring", "ring_timeout_s", t("admin.voice.settings.ring"), ring, setRing, { type: "number", min: 5, max: 120 })}
      {input("voice-limit", "max_concurrent_calls", t("admin.voice.settings.limit"), limit, setLimit, { type: "number", min: 1 })}
      <Field id="voice-default-moh" field="default_moh" label={t("admin.voice.settings.defaultMoh")} errors={errors}>
        {(attrs) => (
          <select {...attrs} value={moh} onChange={(e) => setMoh((e.target as HTMLSelectElement).value)} aria-describedby={[attrs["aria-describedby"], "voice-default-moh-help"].filter(Boolean).join(" ")}>
            <option value="">{t("admin.voice.settings.mohBuiltIn")}</option>
            <Choices names={audio} chosen={moh} />
          </select>
        )}
      </Field>
      <p class="muted" id="voice-default-moh-help">
        {t("admin.voice.settings.defaultMohHelp")}
      </p>
      <fieldset data-testid="voice-consent">
        <legend>{t("admin.voice.settings.consent")}</legend>
        <p class="muted">{t("admin.voice.settings.consentHelp")}</p>
        <Field id="voice-consent-kind" field="recording_consent_prompt" label={t("admin.voice.settings.consentKind")} errors={{}}>
          {(attrs) => (
            <select {...attrs} value={consent.kind} onChange={(e) => setConsent({ ...consent, kind: (e.target as HTMLSelectElement).value as ConsentKind })}>
              {CONSENT_KINDS.map((k) => (
                <option key={k} value={k}>
                  {t(`admin.voice.settings.consentKinds.${k}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        {consent.kind === "text" && (
          <>
            <Field id="voice-consent-text" field="recording_consent_prompt" label={t("admin.voice.settings.consentText")} errors={consentErrors("text")}>
              {(attrs) => <textarea {...attrs} rows={2} value={consent.text} onInput={(e) => setConsent({ ...consent, text: (e.target as HTMLTextAreaElement).value })} />}
            </Field>
            <Field id="voice-consent-language" field="recording_consent_prompt.language" label={t("admin.voice.settings.consentLanguage")} errors={errors}>
              {(attrs) => <input {...attrs} value={consent.language} onInput={(e) => setConsent({ ...consent, language: (e.target as HTMLInputElement).value })} />}
            </Field>
          </>
        )}
        {consent.kind === "audio" && (
          <Field id="voice-consent-audio" field="recording_consent_prompt" label={t("admin.voice.settings.consentAudio")} errors={consentErrors("audio")}>
            {(attrs) => (
              <select {...attrs} value={consent.audio} onChange={(e) => setConsent({ ...consent, audio: (e.target as HTMLSelectElement).value })}>
                <option value="">{t("admin.voice.settings.consentPick")}</option>
                <Choices names={audio} chosen={consent.audio} />
              </select>
            )}
          </Field>
        )}
      </fieldset>
      <AudioUpload id="voice-audio" onUploaded={() => void loadAudio().catch((e) => setErrors(errorsOf(e)))} />
      <label class="inline">
        <input type="checkbox" checked={reset} onChange={(e) => setReset((e.target as HTMLInputElement).checked)} />
        {t("admin.voice.settings.reset")}
      </label>
      <FormError errors={errors} />
      <OtherErrors errors={errors} shown={(name) => SHOWN.has(name.split(".")[0])} />
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
