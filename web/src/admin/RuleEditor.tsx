import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { t } from "../i18n";

export type RuleState = "ok" | "checking" | "invalid";

interface RuleError {
  message: string;
  line: number;
  column: number;
}

const PAUSE_MS = 250;

/** A step's rule, checked by the engine's own parser as the admin types (POST
 * /routing/rules/check after a short pause): an error is shown at its line and column, with the
 * line and a caret under the column. An empty rule means "any member of the queue". */
export function RuleEditor({
  id,
  label,
  value,
  onChange,
  onState,
  serverError,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (text: string) => void;
  onState: (state: RuleState) => void;
  serverError?: string;
}) {
  const [error, setError] = useState<RuleError | null>(null);
  const asked = useRef(0);
  useEffect(() => {
    const ask = ++asked.current;
    if (value.trim() === "") {
      setError(null);
      onState("ok");
      return;
    }
    onState("checking");
    const timer = setTimeout(async () => {
      try {
        const answer = await ok(api.POST("/api/v1/routing/rules/check", { body: { rule: value } }));
        if (ask !== asked.current) return; // a later keystroke asked again
        setError(answer.error ?? null);
        onState(answer.ok ? "ok" : "invalid");
      } catch {
        if (ask === asked.current) onState("ok"); // unchecked here: the save's answer decides
      }
    }, PAUSE_MS);
    return () => clearTimeout(timer);
  }, [value]);

  const lines = value.split(/\r\n|\r|\n/);
  const errorId = `${id}-error`;
  return (
    <div class="rule-editor">
      <label for={id}>{label}</label>
      <textarea
        id={id}
        rows={Math.max(2, Math.min(8, lines.length + 1))}
        spellcheck={false}
        class="code"
        value={value}
        aria-invalid={error !== null || !!serverError}
        aria-describedby={errorId}
        onInput={(e) => onChange((e.target as HTMLTextAreaElement).value)}
        placeholder={t("admin.queues.anyMember")}
      />
      <div id={errorId} aria-live="polite">
        {error && (
          <div class="error" data-testid="rule-error" data-line={error.line} data-column={error.column}>
            <span>{t("admin.queues.ruleError", { line: error.line, column: error.column, message: error.message })}</span>
            <pre aria-hidden="true" class="caret">
              {(lines[error.line - 1] ?? "") + "\n" + " ".repeat(Math.max(0, error.column - 1)) + "^"}
            </pre>
          </div>
        )}
        {!error && serverError && (
          <span class="error" data-field-error="rule">
            {serverError}
          </span>
        )}
      </div>
    </div>
  );
}
