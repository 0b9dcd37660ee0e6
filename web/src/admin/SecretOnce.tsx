import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n";

/** A value shown once (a new secret) or to copy (the widget's snippet), with a Copy button
 * that says whether the copy worked. */
export function CopyField({ label, value, testId, multiline = false }: { label: string; value: string; testId: string; multiline?: boolean }) {
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  const select = (e: Event) => (e.target as HTMLInputElement).select();
  return (
    <div class="copy-field">
      <label>
        {label}
        {multiline ? (
          <textarea readOnly rows={3} value={value} data-testid={testId} onFocus={select} />
        ) : (
          <input type="text" readOnly value={value} data-testid={testId} onFocus={select} />
        )}
      </label>
      <div class="inline">
        <button
          type="button"
          onClick={() =>
            navigator.clipboard
              .writeText(value)
              .then(() => setCopied("yes"))
              .catch(() => setCopied("no"))
          }
        >
          {t("admin.copy", { what: label })}
        </button>
        <span role="status">{copied === "yes" ? t("admin.tokens.copied") : copied === "no" ? t("admin.tokens.copyFailed") : ""}</span>
      </div>
    </div>
  );
}

/** A secret the server will never show again: focus moves here so nobody misses it. */
export function SecretOnce({ title, label, value, onDone, note }: { title: string; label: string; value: string; onDone: () => void; note?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.focus(), [value]);
  return (
    <div class="notice token-secret" role="region" aria-labelledby="secret-once-title" tabIndex={-1} ref={box} data-testid="secret-once">
      <h3 id="secret-once-title">{title}</h3>
      <p>
        <strong>{note ?? t("admin.channels.secretOnce")}</strong>
      </p>
      <CopyField label={label} value={value} testId="secret-once-value" />
      <button type="button" onClick={onDone}>
        {t("admin.tokens.secretDone")}
      </button>
    </div>
  );
}
