import { describe, expect, it } from "vitest";
import type { AgentEntry } from "../realtime/types";
import { type Colleague, colleagueChoices } from "./colleagueChoices";

const entry = (id: string, name: string, state: AgentEntry["state"]): AgentEntry =>
  ({ id, name, state, teams: [], queues: null, capacity: null, reason: null, since: null, load: {}, contacts: {} }) as AgentEntry;

describe("the colleagues an agent may call or transfer to", () => {
  const fetched: Colleague[] = [
    { id: "b", name: "Bea", state: "available" },
    { id: "c", name: "Alf", state: "busy" },
    { id: "d", name: "Dan", state: "offline" },
  ];

  it("lists the fetched colleagues by name, without offline ones or the user", () => {
    expect(colleagueChoices([...fetched, { id: "me", name: "Me", state: "available" }], {}, "me")).toEqual([
      { id: "c", name: "Alf", state: "busy" },
      { id: "b", name: "Bea", state: "available" },
    ]);
  });

  it("prefers the live state of the realtime snapshot, and adds agents only it has", () => {
    const live = { b: entry("b", "Bea", "away"), d: entry("d", "Dan", "available"), e: entry("e", "Eve", "wrap_up"), me: entry("me", "Me", "available") };
    expect(colleagueChoices(fetched, live, "me").map((c) => [c.id, c.state])).toEqual([
      ["c", "busy"],
      ["b", "away"],
      ["d", "available"],
      ["e", "wrap_up"],
    ]);
  });
});
