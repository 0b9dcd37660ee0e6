// The widget's own strings, in the languages the desk has (locales/*.json): a few dozen, so a
// plain lookup rather than the desk's i18next, to keep the script that runs on customers'
// sites small. The language is the visitor's (the browser's, or the one chosen in the pre-chat
// form) among those the widget offers; else the widget's first; else English.
import de from "./locales/de.json";
import en from "./locales/en.json";
import es from "./locales/es.json";
import lv from "./locales/lv.json";

export type Key = keyof typeof en;
export const LOCALES: Record<string, Record<Key, string>> = { en, de, es, lv };

/** The first of `wanted` (e.g. navigator.languages, "de-AT" counts as "de") that the widget
 * offers and has strings for; else the first offered one with strings; else English. */
export function pickLanguage(wanted: readonly string[], offered: readonly string[]): string {
  const base = (tag: string) => tag.toLowerCase().split("-")[0];
  const usable = offered.map(base).filter((l) => l in LOCALES);
  return wanted.map(base).find((l) => usable.includes(l)) ?? usable[0] ?? "en";
}

export function text(language: string, key: Key, vars: Record<string, string | number> = {}): string {
  const template = (LOCALES[language] ?? en)[key] ?? en[key];
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => String(vars[name] ?? ""));
}
