// Every string the screens show comes from the translation files (locales/*.json); dates and
// times are shown in the user's time zone (the directory user's `timezone`).
import i18next from "i18next";
import de from "./locales/de.json";
import en from "./locales/en.json";
import es from "./locales/es.json";
import lv from "./locales/lv.json";

export const LANGUAGES = { en: "English", de: "Deutsch", es: "Español", lv: "Latviešu" } as const;
export type Language = keyof typeof LANGUAGES;
const KEY = "omnidesk.language";

function initial(): Language {
  const saved = localStorage.getItem(KEY);
  if (saved && saved in LANGUAGES) return saved as Language;
  const browser = navigator.language.slice(0, 2);
  return browser in LANGUAGES ? (browser as Language) : "en";
}

export async function setUpI18n(): Promise<void> {
  await i18next.init({
    lng: initial(),
    fallbackLng: "en",
    resources: {
      en: { translation: en },
      de: { translation: de },
      es: { translation: es },
      lv: { translation: lv },
    },
    interpolation: { escapeValue: false }, // Preact escapes
  });
  document.documentElement.lang = i18next.language;
}

export const t = i18next.t.bind(i18next);

export function language(): Language {
  return i18next.language as Language;
}

/** Switch, and remember the choice in this browser. */
export async function chooseLanguage(lang: Language): Promise<void> {
  localStorage.setItem(KEY, lang);
  await i18next.changeLanguage(lang);
  document.documentElement.lang = lang;
}

let zone: string | undefined;

/** The time zone dates are shown in: the user's, once known (else the browser's). */
export function setTimeZone(timeZone: string | undefined): void {
  zone = timeZone;
}

export function timeZone(): string {
  return zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export function formatTime(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return new Intl.DateTimeFormat(language(), {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZone: timeZone(),
  }).format(new Date(value));
}

/** Seconds as m:ss, or h:mm:ss from an hour on. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** The start of today in the user's time zone, as an instant. */
export function startOfToday(now: Date = new Date()): Date {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: timeZone(),
    hourCycle: "h23",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  }).formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const sinceMidnight = (get("hour") * 3600 + get("minute") * 60 + get("second")) * 1000;
  return new Date(now.getTime() - sinceMidnight - now.getMilliseconds());
}

/** Date and time, in the user's zone (the audit log, API tokens). */
export function formatDateTime(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return new Intl.DateTimeFormat(language(), {
    dateStyle: "medium",
    timeStyle: "medium",
    timeZone: timeZone(),
  }).format(new Date(value));
}

/** How far `zone`'s wall clock is ahead of UTC at `at`, in milliseconds. */
function zoneOffset(at: Date, zone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - Math.floor(at.getTime() / 1000) * 1000;
}

/** The instant a calendar day (YYYY-MM-DD) starts in the user's zone (date filters). */
export function startOfDay(day: string, zone: string = timeZone()): Date {
  const [y, m, d] = day.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d);
  // The offset at the guess may differ from the one at the answer across a DST change: ask twice.
  const first = wall - zoneOffset(new Date(wall), zone);
  return new Date(wall - zoneOffset(new Date(first), zone));
}
