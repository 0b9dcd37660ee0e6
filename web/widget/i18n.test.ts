import { describe, expect, it } from "vitest";
import { LOCALES, pickLanguage, text } from "./i18n";

describe("the widget's language", () => {
  it("is the visitor's among those the widget offers, else the widget's first, else English", () => {
    expect(pickLanguage(["de-AT", "en"], ["en", "de"])).toBe("de");
    expect(pickLanguage(["fr-FR", "es"], ["en", "es"])).toBe("es");
    expect(pickLanguage(["fr-FR"], ["lv", "en"])).toBe("lv"); // not offered: the widget's first
    expect(pickLanguage(["de"], ["en"])).toBe("en"); // offered only English
    expect(pickLanguage(["fr"], ["fr", "it"])).toBe("en"); // no strings for what is offered
  });

  it("has every string in every language, with the same placeholders", () => {
    const placeholders = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
    for (const [language, strings] of Object.entries(LOCALES)) {
      expect(Object.keys(strings).sort(), language).toEqual(Object.keys(LOCALES.en).sort());
      for (const [key, value] of Object.entries(strings)) {
        expect(value.trim(), `${language}.${key}`).not.toBe("");
        expect(placeholders(value), `${language}.${key}`).toEqual(placeholders(LOCALES.en[key as keyof typeof LOCALES.en]));
      }
    }
  });

  it("fills placeholders", () => {
    expect(text("de", "placeWait", { position: 3, minutes: 2 })).toBe("Sie sind Nummer 3 in der Warteschlange, etwa 2 Min.");
    expect(text("xx", "send")).toBe("Send");
  });
});
