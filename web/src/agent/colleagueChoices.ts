import type { components } from "../api/schema";
import type { AgentEntry } from "../realtime/types";

export type Colleague = components["schemas"]["ColleagueOut"];

/** Whom the user may call, consult or transfer to (docs/agent-guide.md): the tenant's other
 * agents from `GET /routing/colleagues` (an agent's realtime stream carries no one else's
 * state, so the list is read when it is opened), with the live state where the realtime
 * snapshot has the agent (a supervisor's team), offline ones left out (nobody to take it). */
export function colleagueChoices(fetched: Colleague[], live: Record<string, AgentEntry>, me: string): Colleague[] {
  const byId = new Map<string, Colleague>(fetched.map((c) => [c.id, c]));
  for (const a of Object.values(live)) byId.set(a.id, { id: a.id, name: a.name, state: a.state });
  return [...byId.values()]
    .filter((c) => c.id !== me && c.state !== "offline")
    .sort((a, b) => a.name.localeCompare(b.name));
}
