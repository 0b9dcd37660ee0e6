// The admin forms' values as the API takes them, and the API's refusals on the fields they name
// (pure: tested in vitest).

/** A field's path as the forms name it: "steps.0.target". */
export function fieldPath(raw: unknown[] | string): string {
  if (Array.isArray(raw)) return raw.filter((p, i) => !(i === 0 && p === "body")).join(".");
  // The engine names the definition's field: "queue.steps[0].target".
  return raw.replace(/^(queue|agent)\./, "").replace(/\[(\w+)\]/g, ".$1");
}

/** A refusal's messages by the field they name; "" for what names no field. */
export function fieldErrors(error: { message: string; problem: Record<string, unknown> }): Record<string, string> {
  const found: Record<string, string> = {};
  const problem = error.problem;
  if (Array.isArray(problem.errors)) {
    for (const e of problem.errors as { loc?: unknown[]; msg?: string }[]) {
      found[fieldPath(e.loc ?? [])] = e.msg ?? error.message;
    }
  } else if (typeof problem.field === "string") {
    found[fieldPath(problem.field)] = error.message;
  } else {
    found[""] = error.message;
  }
  return found;
}

/** Comma- or space-separated words, each once. */
export function words(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** A number input's value: null when empty (the API's default applies). */
export function numberOrNull(text: string): number | null {
  if (text.trim() === "") return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** Skill rows (name, level) as a profile's skills; rows without a name are dropped. */
export function skillsOf(rows: { name: string; level: number }[]): Record<string, number> {
  const skills: Record<string, number> = {};
  for (const row of rows) if (row.name.trim()) skills[row.name.trim()] = row.level;
  return skills;
}
