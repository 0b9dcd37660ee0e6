import { describe, expect, it } from "vitest";
import { diffDefinitions, flatten, shown } from "./diff";

const V1 = {
  id: "billing",
  name: "Billing",
  channels: ["chat"],
  priority: 0,
  steps: [{ target: "skills.billing >= 2", timeout_seconds: 30 }, { target: null, timeout_seconds: null }],
  hours: { timezone: "Europe/Riga", weekly: { mon: [["08:00", "17:00"]] } },
};

describe("version diff", () => {
  it("names every leaf by its path", () => {
    const flat = flatten(V1);
    expect(flat.get("steps[0].target")).toBe("skills.billing >= 2");
    expect(flat.get("steps[1].target")).toBeNull();
    expect(flat.get("channels")).toEqual(["chat"]);
    expect(flat.get("hours.timezone")).toBe("Europe/Riga");
    expect(flat.has("steps")).toBe(false);
  });

  it("marks what changed, was added and was removed, field by field", () => {
    const v2 = {
      ...V1,
      name: "Invoices",
      channels: ["chat", "email"],
      steps: [{ target: "skills.billing >= 3", timeout_seconds: 30 }],
      hours: undefined,
      wrap_up_seconds: 15,
    };
    const diff = diffDefinitions(V1, v2);
    const by = Object.fromEntries(diff.map((d) => [d.path, d]));
    expect(by["id"].change).toBe("same");
    expect(by["priority"].change).toBe("same");
    expect(by["name"]).toEqual({ path: "name", before: "Billing", after: "Invoices", change: "changed" });
    expect(by["channels"].change).toBe("changed");
    expect(by["steps[0].target"]).toMatchObject({ before: "skills.billing >= 2", after: "skills.billing >= 3", change: "changed" });
    expect(by["steps[0].timeout_seconds"].change).toBe("same");
    expect(by["steps[1].target"].change).toBe("removed");
    expect(by["hours.timezone"].change).toBe("removed");
    expect(by["wrap_up_seconds"]).toMatchObject({ before: undefined, after: 15, change: "added" });
    // The older version's order first, then fields only the newer one has.
    expect(diff[0].path).toBe("id");
    expect(diff[diff.length - 1].path).toBe("wrap_up_seconds");
  });

  it("finds nothing between equal versions, and a null is not an absence", () => {
    expect(diffDefinitions(V1, structuredClone(V1)).every((d) => d.change === "same")).toBe(true);
    const [d] = diffDefinitions({ max_size: null }, { max_size: 10 });
    expect(d.change).toBe("changed");
    expect(diffDefinitions({ steps: [] }, { steps: [] })[0].change).toBe("same");
  });

  it("shows values as text", () => {
    expect(shown(["chat", "email"])).toBe("chat, email");
    expect(shown(null)).toBe("null");
    expect(shown(undefined)).toBe("");
    expect(shown(0.8)).toBe("0.8");
  });
});
