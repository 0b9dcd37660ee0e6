// The knowledge editor's text fields as the API takes them (pure: tested in vitest).

/** One entry per non-empty line (a script's steps). */
export function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Comma- or space-separated words (queue ids, tags), each once. */
export function words(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}
