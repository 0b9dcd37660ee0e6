import type { ComponentChildren } from "preact";
import { ApiError } from "../api/client";
import { t } from "../i18n";
import { fieldErrors } from "./fields";
import { errorUnder } from "./queueSettings";

export type Errors = Record<string, string>;

/** What a failed save says, by field ("" for the form as a whole). */
export function errorsOf(e: unknown): Errors {
  if (!(e instanceof ApiError)) return { "": t("error.network") };
  if (e.status === 409 && e.code === "version_conflict") return { "": t("admin.conflict") };
  return fieldErrors(e);
}

/** A field's refusal, tied to its input by id (aria-describedby). */
export function FieldError({ id, errors, name }: { id: string; errors: Errors; name: string }) {
  const message = errors[name];
  if (!message) return null;
  return (
    <span id={id} class="error field-error" data-field-error={name}>
      {message}
    </span>
  );
}

/** The form's own refusal (what names no field). */
export function FormError({ errors }: { errors: Errors }) {
  if (!errors[""]) return null;
  return (
    <p class="error" role="alert" data-testid="form-error">
      {t("error.refused", { detail: errors[""] })}
    </p>
  );
}

/** Refusals naming fields the form does not show, so none goes unseen. */
export function OtherErrors({ errors, shown }: { errors: Errors; shown: (name: string) => boolean }) {
  const rest = Object.entries(errors).filter(([name]) => name !== "" && !shown(name));
  if (rest.length === 0) return null;
  return (
    // The alert role on a wrapper: on the list itself it would take the list's role away, and
    // its items would be list items outside any list (axe: listitem).
    <div role="alert">
      <ul class="error">
        {rest.map(([name, message]) => (
          <li key={name}>
            {name}: {message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A labelled input tied to the API field it sets (its refusal shown under it). */
export function Field({ id, field, label, errors, children }: { id: string; field: string; label: string; errors: Errors; children: (attrs: Record<string, unknown>) => ComponentChildren }) {
  const message = errorUnder(errors, field);
  const errorId = `${id}-error`;
  return (
    // A label by id, not around the control: a select's options would become part of its name.
    <div class="field">
      <label for={id}>{label}</label>
      {children({ id, "aria-invalid": !!message, "aria-describedby": message ? errorId : undefined, "data-field": field })}
      {message && (
        <span id={errorId} class="error field-error" data-field-error={field}>
          {message}
        </span>
      )}
    </div>
  );
}
