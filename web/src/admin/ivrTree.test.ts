import { describe, expect, it } from "vitest";
import { addNode, buildTree, danglingRefs, exitsOf, promptsOf, reapply, removeExit, removeNode, renameNode, setExit, type FlowDefinition, type TreeItem } from "./ivrTree";

// A flow with a loop (a menu option back to the menu), a node shared by two exits, and a
// node nothing reaches.
const FLOW: FlowDefinition = {
  id: "main",
  language: "en",
  start: "hours",
  nodes: {
    hours: { type: "hours", schedule: { mon: ["09:00-17:00"] }, open: "menu", closed: "vm" },
    menu: { type: "menu", prompt: "Press 1 for sales, 9 to repeat", options: { "1": "sales", "9": "menu" }, on_failure: "bye" },
    sales: { type: "queue", queue: "sales", max_wait_s: 60, on_timeout: "vm" },
    vm: { type: "voicemail", queue: "sales", next: "bye" },
    bye: { type: "hangup" },
    island: { type: "play", prompt: "never heard", next: "bye" },
  },
};

function outline(items: TreeItem[], depth = 0): string[] {
  return items.flatMap((i) => [`${"  ".repeat(depth)}${i.via ?? "start"} → ${i.node}${i.kind === "node" ? "" : ` (${i.kind})`}`, ...outline(i.children, depth + 1)]);
}

describe("flow ↔ tree", () => {
  it("shows each node once where first reached; loops and shared nodes are links", () => {
    const { roots, unreachable } = buildTree(FLOW);
    expect(outline(roots)).toEqual([
      "start → hours",
      "  open → menu",
      "    options.1 → sales",
      "      on_timeout → vm",
      "        next → bye",
      "    options.9 → menu (link)",
      "    on_failure → bye (link)",
      "  closed → vm (link)",
      "start → island",
      "  next → bye (link)",
    ]);
    expect(unreachable).toEqual(["island"]);
    const keys = outline(roots).length;
    const all = (items: TreeItem[]): string[] => items.flatMap((i) => [i.key, ...all(i.children)]);
    expect(new Set(all(roots)).size).toBe(keys); // keys are unique
  });

  it("names an exit to no node as missing", () => {
    const broken = { ...FLOW, nodes: { ...FLOW.nodes, bye: { type: "play", prompt: "x", next: "gone" } } };
    expect(outline(buildTree(broken).roots)).toContain("          next → gone (missing)");
  });

  it("lists exits in the server's order: options, then named exits", () => {
    expect(exitsOf(FLOW.nodes.menu).map((e) => e.field)).toEqual(["options.1", "options.9", "on_failure"]);
  });

  it("reads every prompt shorthand as a list", () => {
    expect(promptsOf("hi")).toEqual([{ say: "hi" }]);
    expect(promptsOf({ wav: "jingle" })).toEqual([{ wav: "jingle" }]);
    expect(promptsOf(["a", { wav: "b" }])).toEqual([{ say: "a" }, { wav: "b" }]);
    expect(promptsOf(undefined)).toEqual([]);
  });
});

describe("edits keep references valid", () => {
  it("adds a node at a menu digit, its required exits leading to a hangup", () => {
    const { flow, id } = addNode(FLOW, "menu", "options.2", "collect");
    expect(id).toBe("collect");
    expect(flow.nodes.menu.options).toEqual({ "1": "sales", "9": "menu", "2": "collect" });
    expect(flow.nodes.collect).toMatchObject({ type: "collect", next: "bye", store_as: "digits" });
    expect(danglingRefs(flow)).toEqual([]);
    expect(FLOW.nodes.menu.options).toEqual({ "1": "sales", "9": "menu" }); // not mutated
    const again = addNode(flow, "collect", "on_failure", "collect");
    expect(again.id).toBe("collect_2");
  });

  it("adds a hangup node when a new node needs one and there is none", () => {
    const lone: FlowDefinition = { id: "x", start: "m", nodes: { m: { type: "menu", options: {} } } };
    const { flow, id } = addNode(lone, "m", "options.1", "play");
    expect(flow.nodes[id].next).toBe("hangup");
    expect(flow.nodes.hangup).toEqual({ type: "hangup" });
    expect(danglingRefs(flow)).toEqual([]);
  });

  it("removes a node: options and optional exits to it go, required ones lead on", () => {
    const flow = removeNode(FLOW, "vm");
    expect(flow.nodes.vm).toBeUndefined();
    expect(flow.nodes.hours.closed).toBe("bye"); // required: where vm led
    expect(flow.nodes.sales).toEqual({ type: "queue", queue: "sales" }); // on_timeout and max_wait_s go together
    expect(danglingRefs(flow)).toEqual([]);
    const noSales = removeNode(FLOW, "sales");
    expect(noSales.nodes.menu.options).toEqual({ "9": "menu" });
    expect(danglingRefs(noSales)).toEqual([]);
  });

  it("removes the start node: the start leads on", () => {
    const flow = removeNode(FLOW, "hours");
    expect(flow.start).toBe("menu");
    expect(danglingRefs(flow)).toEqual([]);
    const bye = removeNode(FLOW, "bye");
    expect(danglingRefs(bye)).toEqual([]);
    expect(bye.nodes.island.next).toBe("hangup"); // a required exit with nowhere to go
    expect(bye.nodes.menu.on_failure).toBeUndefined();
  });

  it("links an exit to an existing node and removes an exit", () => {
    const linked = setExit(FLOW, "menu", "on_failure", "vm");
    expect(linked.nodes.menu.on_failure).toBe("vm");
    const unlinked = removeExit(linked, "menu", "options.9");
    expect(unlinked.nodes.menu.options).toEqual({ "1": "sales" });
  });

  it("renames a node and every reference to it", () => {
    const flow = renameNode(FLOW, "menu", "main_menu");
    expect(flow.nodes.main_menu.options).toEqual({ "1": "sales", "9": "main_menu" });
    expect(flow.nodes.hours.open).toBe("main_menu");
    expect(Object.keys(flow.nodes)).toEqual(["hours", "main_menu", "sales", "vm", "bye", "island"]);
    expect(danglingRefs(flow)).toEqual([]);
    expect(renameNode(FLOW, "menu", "bye")).toBe(FLOW); // taken: nothing happens
  });
});

describe("re-applying my changes on a version saved meanwhile", () => {
  it("keeps their other changes and mine, and names the nodes we both changed", () => {
    const mine = addNode(setExit(FLOW, "menu", "on_failure", "vm"), "menu", "options.2", "transfer").flow;
    const theirs = { ...FLOW, language: "de", nodes: { ...FLOW.nodes, island: { type: "hangup" }, menu: { ...FLOW.nodes.menu, timeout_s: 9 } } };
    const { flow, overlaps } = reapply(FLOW, mine, theirs);
    expect(flow.language).toBe("de");
    expect(flow.nodes.island).toEqual({ type: "hangup" });
    expect(flow.nodes.menu).toEqual(mine.nodes.menu); // mine wins where both changed
    expect(flow.nodes.transfer).toEqual(mine.nodes.transfer);
    expect(overlaps).toEqual(["menu"]);
    const removed = reapply(FLOW, removeNode(FLOW, "island"), theirs);
    expect(removed.flow.nodes.island).toBeUndefined();
  });
});
