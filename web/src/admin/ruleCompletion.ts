// Completion for the rule editor and the examples of docs/routing-rules.md (pure: tested in
// vitest). The names are those the rule language documents; skill names are the tenant's.
import RULES_DOC from "../../../docs/routing-rules.md?raw";

/** Attribute paths and functions a rule can name (docs/routing-rules.md, "What a rule sees"). */
export const RULE_NAMES = [
  "contact.channel",
  "contact.language",
  "contact.priority",
  "contact.subject",
  "contact.email",
  "contact.tags",
  "contact.attributes.",
  "contact.customer.id",
  "contact.customer.tier",
  "contact.customer.vip",
  "contact.customer.language",
  "contact.customer.tags",
  "contact.customer.open_case_id",
  "contact.customer.last_agent_id",
  "contact.customer.repeat",
  "agent.id",
  "agent.team",
  "agent.skills",
  "agent.languages",
  "agent.timezone",
  "agent.working_hours",
  "agent.state_reason",
  "skills.",
  "local_time(",
  "weekday(",
  "local_date(",
  "within_working_hours(",
  "skill(",
  "lower(",
  "upper(",
  "len(",
  "coalesce(",
];

export interface Completion {
  /** Where the word being typed starts and ends (the caret). */
  from: number;
  to: number;
  /** What may replace it, best first. */
  options: string[];
}

const WORD = /[A-Za-z_][\w.-]*$/;
const MAX_OPTIONS = 12;

/** The word being typed before `caret` and the names that complete it: skill names after
 * `skills.` / `skill.`, attribute paths and functions otherwise. Nothing inside a string or a
 * comment, nor when the word is already complete. */
export function complete(text: string, caret: number, skills: string[]): Completion | null {
  const before = text.slice(0, caret);
  const line = before.slice(before.lastIndexOf("\n") + 1);
  if (line.includes("#") || (line.split('"').length - 1) % 2 === 1 || (line.split("'").length - 1) % 2 === 1) return null;
  const match = WORD.exec(before);
  if (!match) return null;
  const word = match[0];
  const from = caret - word.length;
  if (from > 0 && /[\w.]/.test(before[from - 1])) return null;
  const skillPrefix = /^skills?\./.exec(word)?.[0];
  const names = skillPrefix ? [...new Set(skills)].sort().map((s) => skillPrefix + s) : RULE_NAMES;
  const lowered = word.toLowerCase();
  const options = names.filter((n) => n.toLowerCase().startsWith(lowered) && n !== word).slice(0, MAX_OPTIONS);
  return options.length ? { from, to: caret, options } : null;
}

/** The text with the completion's word replaced by `option`, and the caret after it. */
export function accept(text: string, completion: Completion, option: string): { text: string; caret: number } {
  return { text: text.slice(0, completion.from) + option + text.slice(completion.to), caret: completion.from + option.length };
}

/** The tenant's skill names from agents' routing profiles. */
export function skillNames(agents: { definition: { skills: Record<string, number> } }[]): string[] {
  return [...new Set(agents.flatMap((a) => Object.keys(a.definition.skills)))].sort();
}

export interface RuleExample {
  title: string;
  rule: string;
}

/** Every ```rule block of a Markdown text, titled by the sentence before it (when it ends
 * with ":") or else by the rule's first line. */
export function examplesOf(markdown: string): RuleExample[] {
  const found: RuleExample[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```rule") continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) break;
    const rule = lines.slice(i + 1, end).join("\n").trim();
    let j = i - 1;
    while (j >= 0 && lines[j].trim() === "") j--;
    const before = j >= 0 ? lines[j].trim() : "";
    const title = before.endsWith(":") && !before.startsWith("```") ? before.slice(0, -1).replace(/`/g, "") : rule.split("\n")[0].replace(/\s+#.*$/, "");
    found.push({ title, rule });
    i = end;
  }
  return found;
}

/** The examples of docs/routing-rules.md, bundled at build time (the doc is their source). */
export const RULE_EXAMPLES: RuleExample[] = examplesOf(RULES_DOC);
