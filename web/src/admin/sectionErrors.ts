import { ApiError } from "../api/client";
import { t } from "../i18n";
import { errorsOf, type Errors } from "./Problem";

/** A refusal by field, with the fields renamed as the form names them, and a stale save
 * (409 version_conflict) told in the section's own words. */
export function sectionErrors(e: unknown, conflictKey: string, rename: (field: string) => string = (f) => f): Errors {
  if (e instanceof ApiError && e.status === 409 && e.code === "version_conflict") return { "": t(conflictKey) };
  const found: Errors = {};
  for (const [field, message] of Object.entries(errorsOf(e))) found[field === "" ? "" : rename(field)] = message;
  return found;
}
