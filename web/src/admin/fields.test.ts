import { describe, expect, it } from "vitest";
import { fieldErrors, fieldPath, numberOrNull, skillsOf, words } from "./fields";

describe("admin fields", () => {
  it("puts the engine's and the schema's refusals on the field they name", () => {
    expect(fieldPath("queue.steps[0].target")).toBe("steps.0.target");
    expect(fieldPath(["body", "steps", 1, "timeout_seconds"])).toBe("steps.1.timeout_seconds");
    const rule = { message: "bad rule", problem: { field: "queue.steps[1].target", line: 2 } };
    expect(fieldErrors(rule)).toEqual({ "steps.1.target": "bad rule" });
    const schema = { message: "x", problem: { errors: [{ loc: ["body", "priority"], msg: "too big" }] } };
    expect(fieldErrors(schema)).toEqual({ priority: "too big" });
    expect(fieldErrors({ message: "taken", problem: { code: "conflict" } })).toEqual({ "": "taken" });
  });

  it("reads the text fields as the API takes them", () => {
    expect(words("de, en  lv,de")).toEqual(["de", "en", "lv"]);
    expect(numberOrNull(" ")).toBeNull();
    expect(numberOrNull("30")).toBe(30);
    expect(skillsOf([{ name: " billing ", level: 4 }, { name: "", level: 2 }])).toEqual({ billing: 4 });
  });
});
