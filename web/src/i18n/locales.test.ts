import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import de from "./locales/de.json";
import en from "./locales/en.json";
import es from "./locales/es.json";
import lv from "./locales/lv.json";

function keys(tree: object, prefix = ""): string[] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === "object" ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("translations", () => {
  it("every language has exactly the English keys, none empty", () => {
    const wanted = keys(en).sort();
    for (const [name, tree] of Object.entries({ de, es, lv })) {
      expect(keys(tree).sort(), name).toEqual(wanted);
      for (const key of keys(tree)) expect(key.split(".").reduce((n: any, k) => n[k], tree), `${name} ${key}`).not.toBe("");
    }
  });

  it("every key the screens ask for literally exists", () => {
    const known = new Set(keys(en));
    const root = join(__dirname, "..");
    const missing: string[] = [];
    for (const file of sources(root)) {
      for (const match of readFileSync(file, "utf8").matchAll(/\bt\("([a-zA-Z_.]+)"/g)) {
        if (!known.has(match[1])) missing.push(`${file}: ${match[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
