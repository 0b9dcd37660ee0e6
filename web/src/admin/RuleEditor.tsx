import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { t } from "../i18n";
import { accept, complete, RULE_EXAMPLES, type Completion } from "./ruleCompletion";

export type RuleState = "ok" | "checking" | "invalid";

interface RuleError {
  message: string;
  line: number;
  column: number;
}

const PAUSE_MS = 250;

/** A step's rule, checked by the engine's own parser as the admin types (POST
 * /routing/rules/check after a short pause): an error is shown at its line and column, with the
 * line and a caret under the column. An empty rule means "any member of the queue".
 *
 * While typing, attribute paths, functions and (after `skills.`) the tenant's skill names are
 * offered in a listbox the textarea points into (aria-activedescendant): arrows move, Enter or
 * Tab takes one, Escape closes, Ctrl+Space asks. The examples of docs/routing-rules.md are one
 * click away and replace the rule. */
export function RuleEditor({
  id,
  label,
  value,
  onChange,
  onState,
  serverError,
  skills = [],
}: {
  id: string;
  label: string;
  value: string;
  onChange: (text: string) => void;
  onState: (state: RuleState) => void;
  serverError?: string;
  skills?: string[];
}) {
  const [error, setError] = useState<RuleError | null>(null);
  const [completion, setCompletion] = useState<Completion | null>(null);
  const [active, setActive] = useState(0);
  const [examples, setExamples] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const caret = useRef<number | null>(null);
  const asked = useRef(0);
  useEffect(() => {
    // The caret after a taken completion or example, once the new text is in the textarea.
    if (caret.current !== null && area.current) {
      area.current.setSelectionRange(caret.current, caret.current);
      caret.current = null;
    }
  }, [value]);
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
  const listId = `${id}-completions`;
  const examplesId = `${id}-examples`;
  const optionId = (i: number) => `${id}-completion-${i}`;

  function suggest(text: string, at: number) {
    setCompletion(complete(text, at, skills));
    setActive(0);
  }

  function take(option: string) {
    if (!completion) return;
    const next = accept(value, completion, option);
    caret.current = next.caret;
    setCompletion(null);
    onChange(next.text);
    area.current?.focus();
  }

  function onKeyDown(e: KeyboardEvent) {
    const target = e.target as HTMLTextAreaElement;
    if (e.key === " " && e.ctrlKey) {
      e.preventDefault();
      suggest(value, target.selectionStart);
      return;
    }
    if (!completion) return;
    const count = completion.options.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      setActive((active + (e.key === "ArrowDown" ? 1 : count - 1)) % count);
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      take(completion.options[active]);
    } else if (e.key === "Escape") {
      e.preventDefault();
      setCompletion(null);
    }
  }

  return (
    <div class="rule-editor">
      <label for={id}>{label}</label>
      <textarea
        id={id}
        ref={area}
        rows={Math.max(2, Math.min(8, lines.length + 1))}
        spellcheck={false}
        class="code"
        value={value}
        aria-invalid={error !== null || !!serverError}
        aria-describedby={`${errorId} ${id}-keys`}
        aria-autocomplete="list"
        aria-controls={completion ? listId : undefined}
        aria-activedescendant={completion ? optionId(active) : undefined}
        onInput={(e) => {
          const target = e.target as HTMLTextAreaElement;
          onChange(target.value);
          suggest(target.value, target.selectionStart);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setCompletion(null)}
        placeholder={t("admin.queues.anyMember")}
      />
      <span id={`${id}-keys`} class="visually-hidden">
        {t("admin.rules.keys")}
      </span>
      {completion && (
        <ul role="listbox" id={listId} class="completions" aria-label={t("admin.rules.completions")} data-testid="rule-completions">
          {completion.options.map((option, i) => (
            <li
              key={option}
              id={optionId(i)}
              role="option"
              aria-selected={i === active}
              class={i === active ? "active" : undefined}
              // mousedown, not click: the textarea keeps the focus (and its caret).
              onMouseDown={(e) => {
                e.preventDefault();
                take(option);
              }}
            >
              {option}
            </li>
          ))}
        </ul>
      )}
      <div class="inline">
        <button type="button" aria-expanded={examples} aria-controls={examplesId} onClick={() => setExamples(!examples)}>
          {t("admin.rules.examples")}
        </button>
      </div>
      {examples && (
        <ul id={examplesId} class="rule-examples" aria-label={t("admin.rules.examplesList")} data-testid="rule-examples">
          {RULE_EXAMPLES.map((example, i) => (
            <li key={i}>
              <button
                type="button"
                aria-describedby={`${examplesId}-${i}`}
                onClick={() => {
                  caret.current = example.rule.length;
                  setExamples(false);
                  onChange(example.rule);
                  area.current?.focus();
                }}
              >
                {t("admin.rules.useExample", { title: example.title })}
              </button>
              <pre id={`${examplesId}-${i}`} class="code">
                {example.rule}
              </pre>
            </li>
          ))}
        </ul>
      )}
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
