// The wallboard's figures per queue and channel, from routing's live read model (the snapshot's
// routing section kept current by events): what routing knows now, not the KPI definitions.
import type { AgentState, RoutingSection } from "../realtime/types";

export interface LaneFigures {
  queueId: string;
  queueName: string;
  channel: string;
  waiting: number;
  offered: number;
  active: number;
  oldestQueuedAt: string | null;
  agents: Record<AgentState, number>;
}

const STATES: AgentState[] = ["available", "busy", "wrap_up", "away", "offline"];

export function lanes(routing: RoutingSection): LaneFigures[] {
  const out: LaneFigures[] = [];
  const queues = Object.values(routing.queues).sort((a, b) => a.name.localeCompare(b.name));
  for (const queue of queues) {
    const members = Object.values(routing.agents).filter((a) => a.queues && queue.id in a.queues);
    for (const channel of queue.channels) {
      const contacts = Object.values(routing.contacts).filter((c) => c.queue_id === queue.id && c.channel === channel);
      const waiting = contacts.filter((c) => c.state === "waiting");
      // Agents of the queue who can take this channel at all.
      const able = members.filter((a) => (a.capacity?.[channel] ?? 0) > 0);
      const agents = {} as Record<AgentState, number>;
      for (const s of STATES) agents[s] = able.filter((a) => a.state === s).length;
      out.push({
        queueId: queue.id,
        queueName: queue.name,
        channel,
        waiting: waiting.length,
        offered: contacts.filter((c) => c.state === "offered").length,
        active: contacts.filter((c) => c.state === "active").length,
        oldestQueuedAt: waiting.reduce<string | null>((a, c) => (a === null || Date.parse(c.queued_at) < Date.parse(a) ? c.queued_at : a), null),
        agents,
      });
    }
  }
  return out;
}
