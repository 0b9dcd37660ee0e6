import { useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { t } from "../i18n";
import { errorsOf, FieldError, FormError, type Errors } from "./Problem";

/** Upload a WAV file as a tenant audio file (a prompt or hold music plays it by name). */
export function AudioUpload({ id, onUploaded }: { id: string; onUploaded: (name: string) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [done, setDone] = useState("");
  async function upload() {
    if (!file) return;
    setErrors({});
    setDone("");
    try {
      await ok(
        api.POST("/api/v1/voice/audio", {
          params: { query: { name } },
          body: file as unknown as string,
          bodySerializer: (b: unknown) => b as Blob,
          headers: { "content-type": "audio/wav" },
        }),
      );
      setDone(t("admin.ivr.uploaded", { name }));
      onUploaded(name);
    } catch (e) {
      const found = errorsOf(e);
      // The name is a query parameter: its refusal says "query.name".
      if (found["query.name"]) found.name = found["query.name"];
      delete found["query.name"];
      setErrors(found);
    }
  }
  return (
    <fieldset class="ivr-audio">
      <legend>{t("admin.ivr.audio")}</legend>
      <p class="muted">{t("admin.ivr.audioHelp")}</p>
      <label>
        {t("admin.ivr.audioFile")}
        <input
          type="file"
          accept=".wav,audio/wav"
          onChange={(e) => {
            const chosen = (e.target as HTMLInputElement).files?.[0] ?? null;
            setFile(chosen);
            if (chosen) setName(chosen.name.toLowerCase().replace(/[^a-z0-9._-]/g, "-"));
          }}
        />
      </label>
      <label>
        {t("admin.ivr.audioName")}
        <input type="text" value={name} aria-invalid={!!errors.name} aria-describedby={`${id}-name-error`} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <FieldError id={`${id}-name-error`} errors={errors} name="name" />
      </label>
      <button type="button" disabled={!file || !name} onClick={() => void upload()}>
        {t("admin.ivr.upload")}
      </button>
      {done && <p role="status">{done}</p>}
      <FormError errors={errors} />
    </fieldset>
  );
}
