import { describe, expect, it } from "vitest";
import { answersBody, type Criterion, criterionBody, scoreOf } from "./quality";

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
