/** Field-by-field comparison of two saved definitions (a queue's versions in its History).
 * Nested objects and lists of objects are walked down to their leaves, named by path
 * ("steps[1].overflow.queue_id", "hours.weekly.mon"); a list of plain values (channels) is one
 * field. A field absent on one side (the engine's default applied) is `added` or `removed`. */

export type Change = "same" | "changed" | "added" | "removed";

export interface FieldDiff {
  path: string;
  before: unknown; // undefined: absent in the older version
  after: unknown; // undefined: absent in the newer version
  change: Change;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isListOfObjects(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.some((v) => isObject(v) || Array.isArray(v));
}

/** path -> leaf value; an empty object or list of objects is a leaf of its own, so that a
 * field emptied between versions still shows. */
export function flatten(value: unknown, path = "", into: Map<string, unknown> = new Map()): Map<string, unknown> {
  if (isObject(value) && Object.keys(value).length > 0) {
    for (const key of Object.keys(value)) flatten(value[key], path ? `${path}.${key}` : key, into);
  } else if (isListOfObjects(value)) {
    value.forEach((item, i) => flatten(item, `${path}[${i}]`, into));
  } else {
    into.set(path, value);
  }
  return into;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Order of fields: as the older version has them, then what only the newer one has. */
export function diffDefinitions(before: object, after: object): FieldDiff[] {
  const old = flatten(before);
  const now = flatten(after);
  const paths = [...old.keys(), ...[...now.keys()].filter((p) => !old.has(p))];
  return paths.map((path) => {
    const a = old.get(path);
    const b = now.get(path);
    let change: Change = "same";
    if (!old.has(path) || a === undefined) change = b === undefined ? "same" : "added";
    else if (!now.has(path) || b === undefined) change = "removed";
    else if (!equal(a, b)) change = "changed";
    return { path, before: a, after: b, change };
  });
}

/** A leaf as the History table shows it ("" for absent; lists joined; null as "null"). */
export function shown(value: unknown): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) return value.map((v) => shown(v as Json)).join(", ");
  if (isObject(value)) return JSON.stringify(value);
  return String(value);
}
