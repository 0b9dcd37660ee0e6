import { describe, expect, it } from "vitest";
import { lines, words } from "./fields";

describe("the knowledge editor's fields", () => {
  it("takes a script's steps one per non-empty line", () => {
    expect(lines("Ask for the model\n\n  Power cycle  \n")).toEqual(["Ask for the model", "Power cycle"]);
    expect(lines("   ")).toEqual([]);
  });

  it("takes queues and tags separated by commas or spaces, each once", () => {
    expect(words("support, sales  support,billing")).toEqual(["support", "sales", "billing"]);
    expect(words("")).toEqual([]);
  });
});
