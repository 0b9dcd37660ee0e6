import { describe, expect, it } from "vitest";
import { accept, complete, examplesOf, RULE_EXAMPLES, skillNames } from "./ruleCompletion";

describe("rule completion", () => {
  it("completes attribute paths and functions from what is typed", () => {
    const c = complete("contact.cus", 11, []);
    expect(c?.from).toBe(0);
    expect(c?.options).toContain("contact.customer.tier");
    expect(c?.options.every((o) => o.startsWith("contact.cus"))).toBe(true);
    expect(complete("x AND low", 9, [])?.options).toEqual(["lower("]);
  });

  it("completes the tenant's skill names after skills. and skill.", () => {
    const skills = ["lang.de", "billing", "lang.en", "lang.de"];
    expect(complete("skills.la", 9, skills)?.options).toEqual(["skills.lang.de", "skills.lang.en"]);
    expect(complete("skill.b", 7, skills)?.options).toEqual(["skill.billing"]);
    expect(complete("skills.", 7, skills)?.options).toEqual(["skills.billing", "skills.lang.de", "skills.lang.en"]);
  });

  it("offers nothing in strings, comments, complete words or mid-word", () => {
    expect(complete('contact.channel == "con', 23, [])).toBeNull();
    expect(complete("skills.x >= 1 # con", 19, [])).toBeNull();
    expect(complete("agent.id", 8, [])).toBeNull();
    expect(complete("", 0, [])).toBeNull();
    expect(complete("3con", 4, [])).toBeNull();
  });

  it("replaces the word being typed and puts the caret after it", () => {
    const text = "skills.la >= 3 AND contact.priority > 2";
    const c = complete(text, 9, ["lang.de"])!;
    expect(accept(text, c, c.options[0])).toEqual({ text: "skills.lang.de >= 3 AND contact.priority > 2", caret: 14 });
  });

  it("collects skill names from agents' profiles", () => {
    const agents = [{ definition: { skills: { b: 1, a: 2 } } }, { definition: { skills: { a: 3 } } }];
    expect(skillNames(agents)).toEqual(["a", "b"]);
  });
});

describe("rule examples", () => {
  it("takes each rule block with the sentence before it as its title", () => {
    const md = "Intro\n\nVIP customers to seniors:\n\n```rule\ncontact.vip == true\n```\n\n```rule\nskills.x >= 1   # any x\nOR skills.y >= 1\n```\n";
    expect(examplesOf(md)).toEqual([
      { title: "VIP customers to seniors", rule: "contact.vip == true" },
      { title: "skills.x >= 1", rule: "skills.x >= 1   # any x\nOR skills.y >= 1" },
    ]);
  });

  it("bundles the examples of docs/routing-rules.md", () => {
    expect(RULE_EXAMPLES.length).toBeGreaterThanOrEqual(25);
    expect(RULE_EXAMPLES.map((e) => e.rule)).toContain("skills.lang.de >= 4 AND contact.priority > 2");
  });
});
