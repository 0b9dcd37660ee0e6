import type { components } from "../api/schema";
import type { AgentEntry, EventMessage } from "../realtime/types";

export type Colleague = components["schemas"]["ColleagueOut"];

/** Whom the user may call, consult or transfer to (docs/agent-guide.md): the tenant's other
 * agents from `GET /routing/colleagues` (read when a picker opens, then kept live by
 * `colleaguesAfter` from every colleague's state changes on the realtime stream), with the live state where the realtime
 * snapshot has the agent (a supervisor's team), offline ones left out (nobody to take it). */
export function colleagueChoices(fetched: Colleague[], live: Record<string, AgentEntry>, me: string): Colleague[] {
  const byId = new Map<string, Colleague>(fetched.map((c) => [c.id, c]));
  for (const a of Object.values(live)) byId.set(a.id, { id: a.id, name: a.name, state: a.state });
  return [...byId.values()]
    .filter((c) => c.id !== me && c.state !== "offline")
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Routing events that change whom an agent may call: a colleague's state (every user of the
 * tenant receives it, docs/realtime.md) and, for admins and supervisors who see them, agents
 * added, renamed or removed. */
const LIST_CHANGES = new Set(["routing.agent_added", "routing.agent_updated", "routing.agent_removed"]);

/** The colleagues list after a realtime event: the same list when the event does not concern
 * it, a new one with the colleague's new state, or "refresh" when the list must be read again
 * (someone not in it changed state: a colleague added since it was read). */
export function colleaguesAfter(list: Colleague[], message: EventMessage): Colleague[] | "refresh" {
  if (LIST_CHANGES.has(message.event)) return "refresh";
  if (message.event !== "routing.agent_state_changed") return list;
  const id = String(message.data.agent_id ?? "");
  const state = message.data.state as Colleague["state"];
  if (!list.some((c) => c.id === id)) return "refresh";
  return list.map((c) => (c.id === id ? { ...c, state } : c));
}
