import { describe, expect, it } from "vitest";
import { contrastWithWhite, readableOnWhiteText } from "./contrast";

describe("contrastWithWhite", () => {
  it("matches WCAG's reference points", () => {
    expect(contrastWithWhite("#ffffff")).toBeCloseTo(1, 5);
    expect(contrastWithWhite("#000000")).toBeCloseTo(21, 5);
    expect(contrastWithWhite("#767676")).toBeCloseTo(4.54, 2);
    expect(contrastWithWhite("#FFCC00")).toBeCloseTo(1.51, 2);
  });
  it("is null for what is not #rrggbb", () => {
    expect(contrastWithWhite("blue")).toBeNull();
    expect(contrastWithWhite("#fff")).toBeNull();
    expect(contrastWithWhite("")).toBeNull();
  });
  it("tells readable from unreadable at 4.5:1", () => {
    expect(readableOnWhiteText("#0b5cad")).toBe(true);
    expect(readableOnWhiteText("#777777")).toBe(false);
    expect(readableOnWhiteText("nope")).toBe(false);
  });
});
