import type { Schemas } from "../api/client";
import type { paths } from "../api/schema";

export type Criterion = Schemas["QualityCriterion"];
export type Scorecard = Schemas["QualityScorecardOut"];
export type Evaluation = Schemas["QualityEvaluationOut"];
export type Interaction = Schemas["InteractionOut"];
export type InteractionQuery = NonNullable<paths["/api/v1/crm/interactions"]["get"]["parameters"]["query"]>;

/** How many of the agent's latest ended contacts are offered to grade. */
export const SUGGESTED = 200;

/** The contacts offered to grade: the agent's latest ended ones, filtered by the server
 * (GET /api/v1/crm/interactions?agent_id=&ended=true), newest first, each once. `list` is the
 * API call, passed in so this can be tested without a server. */
export async function contactSuggestions(agentId: string, list: (query: InteractionQuery) => Promise<Interaction[]>): Promise<string[]> {
  if (!agentId) return [];
  const found = await list({ agent_id: agentId, ended: true, limit: SUGGESTED });
  return [...new Set(found.map((i) => i.contact_id))];
}
/** An answer as the form holds it: points, "yes", "no", "na", or "" (not answered yet). */
export type Answer = number | "yes" | "no" | "na" | "";

/** The score the server will give (quality/scoring.py, docs/kpis.md "Quality score"), shown
 * while grading: weighted, "na" left out, an auto-fail "no" makes it 0. null: not every
 * criterion is answered yet, or nothing weighted is left to score. Rounded for display only;
 * the saved evaluation shows the server's own figure. */
export function scoreOf(criteria: Criterion[], answers: Record<string, Answer>): { score: number; autoFailed: boolean } | null {
  let earned = 0;
  let possible = 0;
  let failed = false;
  for (const c of criteria) {
    const value = answers[c.id];
    if (value === undefined || value === "") return null;
    if (value === "na") continue;
    const weight = c.weight ?? 1;
    let part: number;
    if (c.kind === "yes_no") {
      part = value === "yes" ? 1 : 0;
      if (c.auto_fail && value === "no") failed = true;
    } else {
      part = Number(value) / (c.max_points ?? 1);
    }
    earned += weight * part;
    possible += weight;
  }
  if (failed) return { score: 0, autoFailed: true };
  if (possible === 0) return null;
  return { score: Math.round((earned * 100 * 100) / possible) / 100, autoFailed: false };
}

/** The body of a grade: the form's answers as the API takes them (points as numbers). */
export function answersBody(answers: Record<string, Answer>): Record<string, number | string> {
  const body: Record<string, number | string> = {};
  for (const [id, value] of Object.entries(answers)) if (value !== "") body[id] = value;
  return body;
}

export function formatScore(score: number | null | undefined): string {
  return score === null || score === undefined ? "—" : `${score.toFixed(score % 1 === 0 ? 0 : 2)} %`;
}

/** A new criterion in the scorecard editor. */
export function blankCriterion(index: number): Criterion {
  return { id: `c${index + 1}`, text: "", kind: "yes_no", weight: 1, max_points: null, auto_fail: false };
}

/** A criterion as the API takes it: max points on points criteria only, auto-fail on yes/no. */
export function criterionBody(c: Criterion): Criterion {
  return c.kind === "points"
    ? { ...c, max_points: c.max_points ?? 5, auto_fail: false }
    : { ...c, max_points: null };
}
