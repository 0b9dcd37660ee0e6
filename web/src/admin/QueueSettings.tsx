import { t } from "../i18n";
import type { Errors } from "./Problem";
import { errorUnder, OVERFLOW_KINDS, WEEKDAYS, type HoursDraft, type OverflowDraft } from "./queueSettings";

/** What of a queue this part of the form edits: opening hours and holidays, what happens to
 * contacts that cannot wait (closed, too long, queue full), and wrap-up. */
export interface QueueSettingsDraft {
  hours: HoursDraft;
  onClosed: OverflowDraft;
  overflowWaitingOnClose: boolean;
  maxWait: string;
  onMaxWait: OverflowDraft;
  maxSize: string;
  onFull: OverflowDraft;
  wrapUp: string;
  wrapUpExtension: string;
  dispositionRequired: boolean;
}

// Every field this part shows, as the API names it: the form lists what else was refused.
export const SETTINGS_FIELDS = ["hours", "on_closed", "overflow_waiting_on_close", "max_wait_seconds", "on_max_wait", "max_size", "on_full", "wrap_up_seconds", "wrap_up_extension_seconds", "disposition_required"];

const ZONES: string[] = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];

function Message({ field, errors }: { field: string; errors: Errors }) {
  const message = errorUnder(errors, field);
  if (!message) return null;
  return (
    <span id={`queue-${field}-error`} class="error field-error" data-field-error={field}>
      {message}
    </span>
  );
}

/** An input tied to the API field it sets: invalid and described by that field's refusal. */
function fieldAttrs(field: string, errors: Errors) {
  const invalid = !!errorUnder(errors, field);
  return { "aria-invalid": invalid, "aria-describedby": invalid ? `queue-${field}-error` : undefined, "data-field": field };
}

function Action({ field, legend, value, onChange, errors, queues }: { field: string; legend: string; value: OverflowDraft; onChange: (v: OverflowDraft) => void; errors: Errors; queues: string[] }) {
  // The kind's own refusal ("required when the queue has hours") or its queue's.
  const kindErrors = Object.fromEntries(Object.entries(errors).filter(([k]) => k === field || k === `${field}.kind`));
  return (
    <fieldset data-action={field}>
      <legend>{legend}</legend>
      {/* Labels by id, not around the select: its options would become part of its name. */}
      <div class="field">
        <label for={`queue-${field}-kind`}>{t("admin.queues.overflow.kind")}</label>
        <select id={`queue-${field}-kind`} value={value.kind} onChange={(e) => onChange({ ...value, kind: (e.target as HTMLSelectElement).value as OverflowDraft["kind"] })} {...fieldAttrs(field, kindErrors)}>
          <option value="">{t("admin.queues.overflow.none")}</option>
          {OVERFLOW_KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`admin.queues.overflow.${k}`)}
            </option>
          ))}
        </select>
        <Message field={field} errors={kindErrors} />
      </div>
      {value.kind === "queue" && (
        <div class="field">
          <label for={`queue-${field}-queue`}>{t("admin.queues.overflow.queue")}</label>
          <select id={`queue-${field}-queue`} value={value.queueId} onChange={(e) => onChange({ ...value, queueId: (e.target as HTMLSelectElement).value })} {...fieldAttrs(`${field}.queue_id`, errors)}>
            <option value="">{t("admin.queues.overflow.pick")}</option>
            {[...new Set([...queues, ...(value.queueId ? [value.queueId] : [])])].map((q) => (
              <option key={q} value={q}>
                {q}
              </option>
            ))}
          </select>
          <Message field={`${field}.queue_id`} errors={errors} />
        </div>
      )}
      {value.kind !== "" && value.kind !== "queue" && (
        <label>
          {t("admin.queues.overflow.message")}
          <input type="text" value={value.message} onInput={(e) => onChange({ ...value, message: (e.target as HTMLInputElement).value })} {...fieldAttrs(`${field}.message`, errors)} />
          <Message field={`${field}.message`} errors={errors} />
        </label>
      )}
    </fieldset>
  );
}

export function QueueSettings({ value, onChange, errors, queues }: { value: QueueSettingsDraft; onChange: (v: QueueSettingsDraft) => void; errors: Errors; queues: string[] }) {
  const hours = value.hours;
  const setHours = (change: Partial<HoursDraft>) => onChange({ ...value, hours: { ...hours, ...change } });
  const number = (name: "maxWait" | "maxSize" | "wrapUp" | "wrapUpExtension", field: string, label: string, extra: { min?: number; step?: number } = {}) => (
    <label>
      {label}
      <input type="number" step="any" value={value[name]} onInput={(e) => onChange({ ...value, [name]: (e.target as HTMLInputElement).value })} {...fieldAttrs(field, errors)} {...extra} />
      <Message field={field} errors={errors} />
    </label>
  );
  return (
    <>
      <fieldset data-testid="queue-hours">
        <legend>{t("admin.queues.hours.title")}</legend>
        <label class="inline">
          <input type="checkbox" checked={hours.enabled} onChange={(e) => setHours({ enabled: (e.target as HTMLInputElement).checked })} />
          {t("admin.queues.hours.enabled")}
        </label>
        <Message field="hours" errors={Object.fromEntries(Object.entries(errors).filter(([k]) => k === "hours"))} />
        {hours.enabled && (
          <>
            <label>
              {t("admin.queues.hours.timezone")}
              <input type="text" list="queue-zones" value={hours.timezone} onInput={(e) => setHours({ timezone: (e.target as HTMLInputElement).value })} {...fieldAttrs("hours.timezone", errors)} />
              <Message field="hours.timezone" errors={errors} />
            </label>
            <datalist id="queue-zones">
              {ZONES.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
            <p class="muted" id="queue-hours-help">
              {t("admin.queues.hours.help")}
            </p>
            {WEEKDAYS.map((day) => (
              <label key={day}>
                {t(`admin.queues.hours.day.${day}`)}
                <input
                  type="text"
                  value={hours.days[day]}
                  placeholder={t("admin.queues.hours.closed")}
                  onInput={(e) => setHours({ days: { ...hours.days, [day]: (e.target as HTMLInputElement).value } })}
                  {...fieldAttrs(`hours.weekly.${day}`, errors)}
                  aria-describedby={[errorUnder(errors, `hours.weekly.${day}`) ? `queue-hours.weekly.${day}-error` : "", "queue-hours-help"].filter(Boolean).join(" ")}
                />
                <Message field={`hours.weekly.${day}`} errors={errors} />
              </label>
            ))}
            <label>
              {t("admin.queues.hours.holidays")}
              <textarea rows={2} value={hours.holidays} onInput={(e) => setHours({ holidays: (e.target as HTMLTextAreaElement).value })} {...fieldAttrs("hours.holidays", errors)} />
              <Message field="hours.holidays" errors={errors} />
            </label>
            <div class="inline">
              <label>
                {t("admin.queues.hours.country")}
                <input type="text" size={4} value={hours.country} onInput={(e) => setHours({ country: (e.target as HTMLInputElement).value })} {...fieldAttrs("hours.holiday_country", errors)} />
                <Message field="hours.holiday_country" errors={errors} />
              </label>
              <label>
                {t("admin.queues.hours.subdivision")}
                <input type="text" size={6} value={hours.subdivision} onInput={(e) => setHours({ subdivision: (e.target as HTMLInputElement).value })} {...fieldAttrs("hours.holiday_subdivision", errors)} />
                <Message field="hours.holiday_subdivision" errors={errors} />
              </label>
            </div>
            <p class="muted">{t("admin.queues.hours.countryHelp")}</p>
            <Action field="on_closed" legend={t("admin.queues.onClosed")} value={value.onClosed} onChange={(onClosed) => onChange({ ...value, onClosed })} errors={errors} queues={queues} />
            <label class="inline">
              <input type="checkbox" checked={value.overflowWaitingOnClose} onChange={(e) => onChange({ ...value, overflowWaitingOnClose: (e.target as HTMLInputElement).checked })} {...fieldAttrs("overflow_waiting_on_close", errors)} />
              {t("admin.queues.overflowWaitingOnClose")}
            </label>
            <Message field="overflow_waiting_on_close" errors={errors} />
          </>
        )}
      </fieldset>
      <fieldset data-testid="queue-overflow">
        <legend>{t("admin.queues.limits")}</legend>
        {number("maxWait", "max_wait_seconds", t("admin.queues.maxWait"), { min: 1 })}
        <Action field="on_max_wait" legend={t("admin.queues.onMaxWait")} value={value.onMaxWait} onChange={(onMaxWait) => onChange({ ...value, onMaxWait })} errors={errors} queues={queues} />
        {number("maxSize", "max_size", t("admin.queues.maxSize"), { min: 1, step: 1 })}
        <Action field="on_full" legend={t("admin.queues.onFull")} value={value.onFull} onChange={(onFull) => onChange({ ...value, onFull })} errors={errors} queues={queues} />
      </fieldset>
      <fieldset>
        <legend>{t("admin.queues.wrapUpTitle")}</legend>
        {number("wrapUp", "wrap_up_seconds", t("admin.queues.wrapUp"), { min: 0 })}
        {number("wrapUpExtension", "wrap_up_extension_seconds", t("admin.queues.wrapUpExtension"), { min: 1 })}
        <label class="inline">
          <input type="checkbox" checked={value.dispositionRequired} onChange={(e) => onChange({ ...value, dispositionRequired: (e.target as HTMLInputElement).checked })} />
          {t("admin.queues.dispositionRequired")}
        </label>
      </fieldset>
    </>
  );
}
