import { useEffect, useState } from "preact/hooks";
import { api, ApiError, ok } from "../api/client";
import { t } from "../i18n";
import { AudioUpload } from "./AudioUpload";
import { Choices } from "./Choices";
import { errorsOf, Field, FormError, OtherErrors, type Errors } from "./Problem";
import { withoutErrors } from "./queueSettings";
import { sectionErrors } from "./sectionErrors";
import { policyBody, policyDraft, RECORD_MODES, type PolicyDraft, type RecordMode } from "./voicePolicy";

const SHOWN = new Set(["record", "consent_prompt", "announce_every_s", "moh", "voicemail_queue"]);

/** The "Voice" part of a queue: recording, the consent prompt, position announcements, hold
 * music and the voicemail queue of the queue's overflows (its longest wait is the queue's own
 * setting, ADR 0026). The policy is its own object in the API (with its
 * own version), so it is saved on its own: one button, one write, and a stale save (409
 * version_conflict) is told here without touching the queue's form. */
export function QueueVoicePolicy({ queueId, queues }: { queueId: string; queues: string[] }) {
  const [draft, setDraft] = useState<PolicyDraft | null>(null);
  const [version, setVersion] = useState(0);
  const [audio, setAudio] = useState<string[]>([]);
  const [errors, setErrors] = useState<Errors>({});
  const [conflict, setConflict] = useState(false);
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);

  const path = { params: { path: { queue_id: queueId } } };
  async function load() {
    const policy = await ok(api.GET("/api/v1/voice/queues/{queue_id}/policy", path));
    setDraft(policyDraft(policy));
    setVersion(policy.version);
    setConflict(false);
    setErrors({});
  }
  const loadAudio = async () => setAudio((await ok(api.GET("/api/v1/voice/audio"))).map((a) => a.name));
  useEffect(() => {
    void load().catch((e) => setErrors(errorsOf(e)));
    void loadAudio().catch((e) => setErrors(errorsOf(e)));
  }, [queueId]);

  async function save(e: Event) {
    e.preventDefault();
    if (!draft) return;
    setBusy(true);
    setErrors({});
    setConflict(false);
    setStatus("");
    try {
      const saved = await ok(api.PUT("/api/v1/voice/queues/{queue_id}/policy", { ...path, body: policyBody(draft, version) }));
      setDraft(policyDraft(saved));
      setVersion(saved.version);
      setStatus(t("admin.voicePolicy.saved", { id: queueId, version: saved.version }));
    } catch (err) {
      setConflict(err instanceof ApiError && err.code === "version_conflict");
      setErrors(sectionErrors(err, "admin.voicePolicy.conflict"));
    } finally {
      setBusy(false);
    }
  }

  // Nothing to edit before the policy is read: typing into the form would be overwritten.
  if (draft === null) return <FormError errors={errors} />;
  const set = (change: Partial<PolicyDraft>) => setDraft({ ...draft, ...change });
  const value = (e: Event) => (e.target as HTMLInputElement | HTMLSelectElement).value;
  return (
    <form
      class="admin-form"
      aria-labelledby="queue-voice-title"
      data-testid="queue-voice-policy"
      onInput={(e) => setErrors((now) => withoutErrors(now, (e.target as HTMLElement).dataset?.field))}
      onSubmit={(e) => void save(e)}
    >
      <h3 id="queue-voice-title">{t("admin.voicePolicy.title", { id: queueId })}</h3>
      <p class="muted">{t("admin.voicePolicy.help")}</p>
      <Field id="queue-voice-record" field="record" label={t("admin.voicePolicy.record")} errors={errors}>
        {(attrs) => (
          <select {...attrs} value={draft.record} onChange={(e) => set({ record: value(e) as RecordMode })}>
            {RECORD_MODES.map((m) => (
              <option key={m} value={m}>
                {t(`admin.voicePolicy.recordMode.${m}`)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <label class="inline">
        <input type="checkbox" data-field="consent_prompt" checked={draft.consentPrompt} onChange={(e) => set({ consentPrompt: (e.target as HTMLInputElement).checked })} />
        {t("admin.voicePolicy.consent")}
      </label>
      <label class="inline">
        <input type="checkbox" data-field="announce_every_s" checked={draft.announce} onChange={(e) => set({ announce: (e.target as HTMLInputElement).checked })} />
        {t("admin.voicePolicy.announce")}
      </label>
      {draft.announce && (
        <Field id="queue-voice-announce" field="announce_every_s" label={t("admin.voicePolicy.announceEvery")} errors={errors}>
          {(attrs) => <input {...attrs} type="number" min={10} max={3600} value={draft.announceEvery} onInput={(e) => set({ announceEvery: value(e) })} />}
        </Field>
      )}
      <Field id="queue-voice-moh" field="moh" label={t("admin.voicePolicy.moh")} errors={errors}>
        {(attrs) => (
          <select {...attrs} value={draft.moh} onChange={(e) => set({ moh: value(e) })}>
            <option value="">{t("admin.voicePolicy.mohDefault")}</option>
            <Choices names={audio} chosen={draft.moh} />
          </select>
        )}
      </Field>
      <AudioUpload id="queue-voice-audio" onUploaded={() => void loadAudio().catch((e) => setErrors(errorsOf(e)))} />
      <p class="muted" id="queue-voice-voicemail-help">
        {t("admin.voicePolicy.voicemailHelp")}
      </p>
      <Field id="queue-voice-voicemail" field="voicemail_queue" label={t("admin.voicePolicy.voicemail")} errors={errors}>
        {(attrs) => (
          <select {...attrs} value={draft.voicemailQueue} onChange={(e) => set({ voicemailQueue: value(e) })}>
            <option value="">{t("admin.voicePolicy.voicemailNone")}</option>
            <Choices names={queues} chosen={draft.voicemailQueue} />
          </select>
        )}
      </Field>
      <OtherErrors errors={errors} shown={(name) => name === "" || SHOWN.has(name) || [...SHOWN].some((f) => name.startsWith(`${f}.`))} />
      {conflict ? (
        <div class="error" role="alert" data-testid="queue-voice-conflict">
          <p>{errors[""]}</p>
          <button type="button" onClick={() => void load().catch((e) => setErrors(errorsOf(e)))}>
            {t("admin.voicePolicy.reload")}
          </button>
        </div>
      ) : (
        <FormError errors={errors} />
      )}
      <div class="inline">
        <button type="submit" class="primary" disabled={busy}>
          {t("admin.voicePolicy.save")}
        </button>
      </div>
      {status && (
        <p role="status" data-testid="queue-voice-saved">
          {status}
        </p>
      )}
    </form>
  );
}
