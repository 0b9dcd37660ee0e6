import { describe, expect, it } from "vitest";
import { answersBody, contactSuggestions, type Criterion, criterionBody, type Interaction, type InteractionQuery, scoreOf } from "./quality";

const CARD: Criterion[] = [
  { id: "greeting", text: "G", kind: "yes_no", weight: 1, max_points: null, auto_fail: false },
  { id: "solution", text: "S", kind: "points", weight: 3, max_points: 5, auto_fail: false },
  { id: "tone", text: "T", kind: "points", weight: 2, max_points: 4, auto_fail: false },
  { id: "privacy", text: "P", kind: "yes_no", weight: 0, max_points: null, auto_fail: true },
];

describe("scoreOf", () => {
  it("weighs, leaves n/a out and agrees with the server's figures", () => {
    // The same cases as tests/quality/test_scoring.py.
    expect(scoreOf(CARD, { greeting: "yes", solution: 4, tone: 3, privacy: "yes" })).toEqual({ score: 81.67, autoFailed: false });
    expect(scoreOf(CARD, { greeting: "no", solution: 5, tone: "na", privacy: "na" })).toEqual({ score: 75, autoFailed: false });
  });
  it("fails on an auto-fail no, and waits for every answer", () => {
    expect(scoreOf(CARD, { greeting: "yes", solution: 5, tone: 4, privacy: "no" })).toEqual({ score: 0, autoFailed: true });
    expect(scoreOf(CARD, { greeting: "yes", solution: 5, tone: "", privacy: "yes" })).toBeNull();
    expect(scoreOf(CARD, { greeting: "na", solution: "na", tone: "na", privacy: "yes" })).toBeNull();
  });
  it("sends what was answered, and criteria in the API's shape", () => {
    expect(answersBody({ greeting: "yes", solution: 3, tone: "" })).toEqual({ greeting: "yes", solution: 3 });
    expect(criterionBody({ ...CARD[0], kind: "points" }).max_points).toBe(5);
    expect(criterionBody({ ...CARD[1], kind: "yes_no" }).max_points).toBeNull();
  });
});

describe("contactSuggestions", () => {
  const row = (contact_id: string) => ({ contact_id }) as Interaction;
  it("asks the server for the agent's ended contacts, and offers each once", async () => {
    const asked: InteractionQuery[] = [];
    const found = await contactSuggestions("agent-1", async (query) => {
      asked.push(query);
      return [row("c-3"), row("c-2"), row("c-3")];
    });
    expect(asked).toEqual([{ agent_id: "agent-1", ended: true, limit: 200 }]);
    expect(found).toEqual(["c-3", "c-2"]);
  });
  it("asks nothing before an agent is picked", async () => {
    let calls = 0;
    expect(await contactSuggestions("", async () => (calls++, [row("c-1")]))).toEqual([]);
    expect(calls).toBe(0);
  });
});
