import { ApiError } from "../api/client";
import { t } from "../i18n";
import { fieldErrors } from "./fields";

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
    <ul class="error" role="alert">
      {rest.map(([name, message]) => (
        <li key={name}>
          {name}: {message}
        </li>
      ))}
    </ul>
  );
}
