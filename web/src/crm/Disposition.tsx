import { t } from "../i18n";
import { useDispositions } from "./data";
import { activeCodes } from "./logic";

export interface WrapUpChoice {
  disposition: string;
  note: string;
}

/** The wrap-up's code (the tenant's active ones) and note; the wrap-up sends them with its end.
 * A tenant without codes shows the note only. */
export function DispositionPicker({
  contactId,
  value,
  onChange,
  missing,
}: {
  contactId: string;
  value: WrapUpChoice;
  onChange: (value: WrapUpChoice) => void;
  missing: boolean;
}) {
  const all = useDispositions();
  const codes = activeCodes(all ?? []);
  const pickId = `disposition-${contactId}`;
  const noteId = `wrap-note-${contactId}`;
  const errorId = `disposition-error-${contactId}`;
  return (
    <div class="disposition" data-testid="disposition">
      {codes.length > 0 && (
        <p>
          <label for={pickId}>{t("crm.disposition")}</label>{" "}
          <select
            id={pickId}
            value={value.disposition}
            aria-invalid={missing}
            aria-describedby={missing ? errorId : undefined}
            onChange={(e) => onChange({ ...value, disposition: (e.target as HTMLSelectElement).value })}
          >
            <option value="">{t("crm.noDisposition")}</option>
            {codes.map((c) => (
              <option key={c.code} value={c.code}>
                {c.label}
              </option>
            ))}
          </select>
        </p>
      )}
      {missing && (
        <p class="error" role="alert" id={errorId} data-testid="disposition-required">
          {t("crm.dispositionRequired")}
        </p>
      )}
      <p>
        <label for={noteId}>{t("crm.note")}</label>
        <textarea
          id={noteId}
          maxLength={1000}
          rows={2}
          value={value.note}
          onInput={(e) => onChange({ ...value, note: (e.target as HTMLTextAreaElement).value })}
        />
      </p>
    </div>
  );
}
