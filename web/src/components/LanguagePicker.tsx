import { chooseLanguage, LANGUAGES, language, type Language, t } from "../i18n";

/** The language of the screens: switched at once and remembered in this browser. */
export function LanguagePicker({ onChange, hideLabel = false }: { onChange: () => void; hideLabel?: boolean }) {
  return (
    <label class="language">
      <span class={hideLabel ? "visually-hidden" : undefined}>{t("language.label")}</span>
      <select
        value={language()}
        onChange={async (e) => {
          await chooseLanguage((e.target as HTMLSelectElement).value as Language);
          onChange();
        }}
      >
        {Object.entries(LANGUAGES).map(([code, name]) => (
          <option value={code} key={code}>
            {name}
          </option>
        ))}
      </select>
    </label>
  );
}
