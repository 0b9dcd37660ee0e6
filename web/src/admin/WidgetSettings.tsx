// The account form's lists: a chat widget's pre-chat questions and business hours, a WhatsApp
// number's message templates. Each row's inputs carry the API's name for them, so a refusal
// ("prechat_fields.1.key", "business_hours.days.mon.0") is shown on the row it names.
import { t } from "../i18n";
import type { Errors } from "./Problem";
import { errorUnder, WEEKDAYS } from "./queueSettings";
import { backwards, type Hours, moved, opened, type Question, QUESTION_TYPES, type Span, type TemplateRow, timeZones } from "./widgetSettings";

const ZONES = timeZones();

/** A refusal of `field` or of a part of it, under the input (tied by `aria-describedby`). */
function Refusal({ field, errors }: { field: string; errors: Errors }) {
  const message = errorUnder(errors, field);
  if (!message) return null;
  return (
    <span id={idOf(field)} class="error field-error" data-field-error={field}>
      {message}
    </span>
  );
}

const idOf = (field: string) => `account-${field.replace(/\./g, "-")}-error`;
const invalid = (field: string, errors: Errors) => {
  const message = errorUnder(errors, field);
  return { "aria-invalid": !!message, "aria-describedby": message ? idOf(field) : undefined, "data-field": field };
};
// A list's own refusal ("prechat_fields": keys not unique) is not one of its rows'.
const own = (errors: Errors, field: string): Errors => (errors[field] ? { [field]: errors[field] } : {});

export function QuestionsEditor({ value, onChange, errors }: { value: Question[]; onChange: (q: Question[]) => void; errors: Errors }) {
  const set = (i: number, change: Partial<Question>) => onChange(value.map((q, j) => (j === i ? { ...q, ...change } : q)));
  return (
    <fieldset data-testid="prechat-fields">
      <legend>{t("admin.widget.questions")}</legend>
      <p class="muted">{t("admin.widget.questionsHelp")}</p>
      <Refusal field="prechat_fields" errors={own(errors, "prechat_fields")} />
      {value.length === 0 && <p class="muted">{t("admin.widget.noQuestions")}</p>}
      <ol class="rows">
        {value.map((q, i) => {
          const n = i + 1;
          const at = `prechat_fields.${i}`;
          return (
            <li key={i} class="inline wrap" data-question={n}>
              <input type="text" value={q.label} aria-label={t("admin.widget.questionLabel", { n })} onInput={(e) => set(i, { label: (e.target as HTMLInputElement).value })} {...invalid(`${at}.label`, errors)} />
              <input type="text" value={q.key} size={12} aria-label={t("admin.widget.questionKey", { n })} onInput={(e) => set(i, { key: (e.target as HTMLInputElement).value })} {...invalid(`${at}.key`, errors)} />
              <select value={q.type} aria-label={t("admin.widget.questionType", { n })} onChange={(e) => set(i, { type: (e.target as HTMLSelectElement).value as Question["type"] })} {...invalid(`${at}.type`, errors)}>
                {QUESTION_TYPES.map((type) => (
                  <option key={type} value={type}>
                    {t(`admin.widget.type.${type}`)}
                  </option>
                ))}
              </select>
              <label class="inline">
                <input type="checkbox" checked={q.required} onChange={(e) => set(i, { required: (e.target as HTMLInputElement).checked })} />
                {t("admin.widget.required", { n })}
              </label>
              <button type="button" disabled={i === 0} onClick={() => onChange(moved(value, i, -1))}>
                {t("admin.widget.up", { n })}
              </button>
              <button type="button" disabled={i === value.length - 1} onClick={() => onChange(moved(value, i, 1))}>
                {t("admin.widget.down", { n })}
              </button>
              <button type="button" onClick={() => onChange(value.filter((_, j) => j !== i))}>
                {t("admin.widget.removeQuestion", { n })}
              </button>
              <Refusal field={at} errors={errors} />
            </li>
          );
        })}
      </ol>
      <button type="button" onClick={() => onChange([...value, { key: "", label: "", type: "text", required: false }])}>
        {t("admin.widget.addQuestion")}
      </button>
    </fieldset>
  );
}

export function HoursEditor({ value, onChange, errors }: { value: Hours; onChange: (h: Hours) => void; errors: Errors }) {
  const setSpans = (day: (typeof WEEKDAYS)[number], spans: Span[]) => onChange({ ...value, days: { ...value.days, [day]: spans } });
  return (
    <fieldset data-testid="business-hours">
      <legend>{t("admin.widget.hours")}</legend>
      <label class="inline">
        <input type="checkbox" checked={value.alwaysOpen} onChange={(e) => onChange((e.target as HTMLInputElement).checked ? { ...value, alwaysOpen: true } : opened(value))} />
        {t("admin.widget.alwaysOpen")}
      </label>
      <Refusal field="business_hours" errors={own(errors, "business_hours")} />
      {!value.alwaysOpen && (
        <>
          <p class="muted">{t("admin.widget.hoursHelp")}</p>
          <label>
            {t("admin.queues.hours.timezone")}
            <input type="text" list="widget-zones" value={value.timezone} onInput={(e) => onChange({ ...value, timezone: (e.target as HTMLInputElement).value })} {...invalid("business_hours.timezone", errors)} />
            <Refusal field="business_hours.timezone" errors={errors} />
          </label>
          <datalist id="widget-zones">
            {ZONES.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
          {WEEKDAYS.map((day) => {
            const name = t(`admin.queues.hours.day.${day}`);
            const spans = value.days[day];
            return (
              <div key={day} role="group" aria-label={name} class="inline wrap" data-day={day}>
                <strong>{name}</strong>
                {spans.length === 0 && <span class="muted">{t("admin.queues.hours.closed")}</span>}
                {spans.map((span, i) => {
                  const at = `business_hours.days.${day}.${i}`;
                  const n = i + 1;
                  const set = (change: Partial<Span>) => setSpans(day, spans.map((s, j) => (j === i ? { ...s, ...change } : s)));
                  return (
                    <span key={i} class="inline">
                      <input type="text" inputMode="numeric" size={5} placeholder="09:00" value={span.from} aria-label={t("admin.widget.from", { day: name, n })} onInput={(e) => set({ from: (e.target as HTMLInputElement).value })} {...invalid(at, errors)} />
                      –
                      <input type="text" inputMode="numeric" size={5} placeholder="17:00" value={span.to} aria-label={t("admin.widget.to", { day: name, n })} onInput={(e) => set({ to: (e.target as HTMLInputElement).value })} {...invalid(at, errors)} />
                      <button type="button" onClick={() => setSpans(day, spans.filter((_, j) => j !== i))}>
                        {t("admin.widget.removeSpan", { day: name, n })}
                      </button>
                      {backwards(span) && !errorUnder(errors, at) && <span class="muted">{t("admin.widget.backwards")}</span>}
                      <Refusal field={at} errors={errors} />
                    </span>
                  );
                })}
                <button type="button" onClick={() => setSpans(day, [...spans, { from: "09:00", to: "17:00" }])}>
                  {t("admin.widget.addSpan", { day: name })}
                </button>
                <Refusal field={`business_hours.days.${day}`} errors={own(errors, `business_hours.days.${day}`)} />
              </div>
            );
          })}
        </>
      )}
    </fieldset>
  );
}

export function TemplatesEditor({ value, onChange, errors }: { value: TemplateRow[]; onChange: (rows: TemplateRow[]) => void; errors: Errors }) {
  const set = (i: number, change: Partial<TemplateRow>) => onChange(value.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <fieldset data-testid="templates">
      <legend>{t("admin.widget.templates")}</legend>
      <p class="muted">{t("admin.widget.templatesHelp")}</p>
      <Refusal field="templates" errors={own(errors, "templates")} />
      {value.length === 0 && <p class="muted">{t("admin.widget.noTemplates")}</p>}
      <ol class="rows">
        {value.map((row, i) => {
          const n = i + 1;
          const at = `templates.${i}`;
          return (
            <li key={i} class="inline wrap" data-template={n}>
              <input type="text" value={row.name} aria-label={t("admin.widget.templateName", { n })} onInput={(e) => set(i, { name: (e.target as HTMLInputElement).value })} {...invalid(`${at}.name`, errors)} />
              <input type="text" value={row.language} size={6} aria-label={t("admin.widget.templateLanguage", { n })} onInput={(e) => set(i, { language: (e.target as HTMLInputElement).value })} {...invalid(`${at}.language`, errors)} />
              <input type="number" min={0} max={20} value={row.parameters} aria-label={t("admin.widget.templateParameters", { n })} onInput={(e) => set(i, { parameters: (e.target as HTMLInputElement).value })} {...invalid(`${at}.parameters`, errors)} />
              <input type="text" value={row.description} aria-label={t("admin.widget.templateDescription", { n })} onInput={(e) => set(i, { description: (e.target as HTMLInputElement).value })} {...invalid(`${at}.description`, errors)} />
              <button type="button" onClick={() => onChange(value.filter((_, j) => j !== i))}>
                {t("admin.widget.removeTemplate", { n })}
              </button>
              <Refusal field={at} errors={errors} />
            </li>
          );
        })}
      </ol>
      <button type="button" onClick={() => onChange([...value, { name: "", language: "en", parameters: "0", description: "" }])}>
        {t("admin.widget.addTemplate")}
      </button>
    </fieldset>
  );
}
