import { describe, expect, it } from "vitest";
import type { AgentEntry } from "../realtime/types";
import type { EventMessage } from "../realtime/types";
import { type Colleague, colleagueChoices, colleaguesAfter } from "./colleagueChoices";

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

describe("the colleagues list kept live from realtime events", () => {
  const list: Colleague[] = [
    { id: "b", name: "Bea", state: "available" },
    { id: "c", name: "Alf", state: "busy" },
  ];
  const event = (name: string, data: Record<string, unknown>): EventMessage =>
    ({ type: "event", id: 1, event: name, version: 1, occurred_at: "", actor_id: null, subject: { type: "agent", id: "x" }, data }) as EventMessage;

  it("takes a colleague's new state", () => {
    const next = colleaguesAfter(list, event("routing.agent_state_changed", { agent_id: "b", state: "away" }));
    expect(next).toEqual([
      { id: "b", name: "Bea", state: "away" },
      { id: "c", name: "Alf", state: "busy" },
    ]);
  });

  it("asks for a new read for someone it does not know, or an agent added or removed", () => {
    expect(colleaguesAfter(list, event("routing.agent_state_changed", { agent_id: "z", state: "available" }))).toBe("refresh");
    expect(colleaguesAfter(list, event("routing.agent_removed", { agent_id: "b" }))).toBe("refresh");
  });

  it("leaves the list alone for other events", () => {
    expect(colleaguesAfter(list, event("voice.call_ended", {}))).toBe(list);
  });
});
