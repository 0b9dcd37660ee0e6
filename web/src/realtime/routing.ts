// Applying routing events to the routing section, as docs/realtime.md ("Applying routing
// events") says, so that snapshot + events = a fresh snapshot (tests/routing's RoutingClient is
// the same rule in Python; store.test.ts checks this one against recorded server sessions).
import type { AgentEntry, AgentSlot, AgentState, ContactEntry, RoutingSection } from "./types";

const QUEUE_FIELDS = [
  "id",
  "name",
  "channels",
  "priority",
  "service_level_seconds",
  "service_level_target",
] as const;
const AGENT_FIELDS = ["id", "name", "teams", "queues", "capacity"] as const;
const STATES: AgentState[] = ["available", "busy", "wrap_up", "away", "offline"];
// Events that change nothing in this section.
const INERT = new Set([
  "routing.contact_overflowed",
  "routing.contact_reservation_ended",
  "routing.consult_started",
]);

/** An event this client does not know how to apply: its view can no longer be trusted. */
export class UnknownEvent extends Error {}

/** Slots of contacts that just ended (or were transferred away), by agent and contact: a
 * wrap-up starting right after takes its queue and channel from there. */
export type EndedSlots = Map<string, AgentSlot>;

export function emptyRouting(): RoutingSection {
  return { queues: {}, agents: {}, contacts: {} };
}

function pick<T extends object>(source: any, fields: readonly string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const key of fields) out[key] = source?.[key] ?? null;
  return out as Partial<T>;
}

function slot(state: AgentSlot["state"], data: any, extra: Partial<AgentSlot> = {}): AgentSlot {
  return {
    state,
    queue_id: data.queue_id ?? null,
    channel: data.channel ?? null,
    offer_id: null,
    ends_at: null,
    ...extra,
  };
}

export function applyRouting(
  view: RoutingSection,
  name: string,
  data: Record<string, any>,
  ended: EndedSlots,
): void {
  const { queues, agents, contacts } = view;
  const contactId: string | undefined = data.contact_id;
  const agentId: string | undefined = data.agent_id;
  const at: string | undefined = data.at;
  const contact: ContactEntry | undefined = contactId ? contacts[contactId] : undefined;
  const agent: AgentEntry | undefined = agentId ? agents[agentId] : undefined;
  const slots: Record<string, AgentSlot> = agent ? agent.contacts : {};
  const endedKey = `${agentId} ${contactId}`;

  switch (name) {
    case "routing.queue_added":
    case "routing.queue_updated": {
      const queue = data.queue;
      queues[queue.id] = { ...(queues[queue.id] ?? {}), ...pick(queue, QUEUE_FIELDS) } as any;
      break;
    }
    case "routing.queue_removed":
      delete queues[data.queue_id];
      break;
    case "routing.agent_added": {
      const fields = pick<AgentEntry>(data.agent, AGENT_FIELDS) as AgentEntry;
      agents[fields.id] = {
        ...fields,
        state: "offline",
        reason: null,
        since: at ?? null,
        load: {},
        contacts: {},
      };
      break;
    }
    case "routing.agent_updated":
      if (agents[data.agent.id]) Object.assign(agents[data.agent.id], pick(data.agent, AGENT_FIELDS));
      break;
    case "routing.agent_removed":
      if (agentId) delete agents[agentId];
      break;
    case "routing.agent_state_changed":
      if (agent) Object.assign(agent, { state: data.state, reason: data.reason, since: at });
      break;
    case "routing.contact_received":
      contacts[contactId!] = {
        contact_id: contactId!,
        queue_id: data.queue_id,
        channel: data.channel,
        priority: data.priority,
        emergency: data.emergency,
        state: "waiting",
        step: 0,
        queued_at: at!,
        agent_id: null,
        estimate: null,
      };
      break;
    case "routing.agent_contact_started":
      if (agent) slots[contactId!] = slot("active", data);
      break;
    case "routing.contact_queued":
      if (contact) Object.assign(contact, { queue_id: data.queue_id, state: "waiting", agent_id: null, step: data.step });
      for (const other of Object.values(agents)) {
        const held = other.contacts[contactId!];
        if (held && (held.state === "offered" || held.state === "active")) delete other.contacts[contactId!];
      }
      break;
    case "routing.offer_created":
      if (agent) {
        slots[contactId!] = slot("offered", data, { offer_id: data.offer_id, ends_at: data.expires_at });
      }
      if (contact) Object.assign(contact, { state: "offered", agent_id: agentId });
      break;
    case "routing.offer_extended":
      // Sent late (a slow commit): the agent has the whole timeout from the sending.
      if (slots[contactId!]) slots[contactId!].ends_at = data.expires_at;
      break;
    case "routing.offer_accepted":
      if (slots[contactId!]) Object.assign(slots[contactId!], { state: "active", offer_id: null, ends_at: null });
      if (contact) contact.state = "active";
      break;
    case "routing.offer_rejected":
    case "routing.offer_timed_out":
    case "routing.offer_revoked":
      delete slots[contactId!];
      if (contact) Object.assign(contact, { state: "waiting", agent_id: null });
      break;
    case "routing.contact_transferred":
    case "routing.contact_ended":
      if (slots[contactId!]) {
        ended.set(endedKey, slots[contactId!]);
        delete slots[contactId!];
      }
      if (name === "routing.contact_ended") delete contacts[contactId!];
      else if (contact) Object.assign(contact, { state: "waiting", agent_id: null });
      break;
    case "routing.wrap_up_started":
      if (agent) {
        const before = ended.get(endedKey);
        ended.delete(endedKey);
        slots[contactId!] = {
          state: "wrap_up",
          queue_id: before?.queue_id ?? null,
          channel: before?.channel ?? null,
          offer_id: null,
          ends_at: data.ends_at,
        };
      }
      break;
    case "routing.wrap_up_extended":
      if (slots[contactId!]) slots[contactId!].ends_at = data.ends_at;
      break;
    case "routing.wrap_up_ended":
      delete slots[contactId!];
      break;
    case "routing.contact_step_changed":
      if (contact) contact.step = data.step;
      break;
    case "routing.contact_priority_changed":
      if (contact) contact.priority = data.priority;
      break;
    case "routing.contact_placed": {
      const { type: _type, at: _at, ...card } = data;
      contacts[contactId!] = { ...(card as ContactEntry), estimate: null };
      break;
    }
    case "routing.consult_ended": {
      const consultant = agents[data.consultant_id];
      const leg = consultant?.contacts[data.consult_id];
      if (consultant) delete consultant.contacts[data.consult_id];
      if (data.outcome === "transferred") {
        if (consultant && leg) consultant.contacts[contactId!] = { ...leg, state: "active", offer_id: null, ends_at: null };
        if (contact) Object.assign(contact, { state: "active", agent_id: data.consultant_id });
      }
      break;
    }
    default:
      if (!INERT.has(name)) throw new UnknownEvent(name);
  }
  derive(view);
}

/** What follows from the entries: visibility of contacts, loads and queue counts. */
export function derive(view: RoutingSection): void {
  const { queues, agents, contacts } = view;
  for (const [id, c] of Object.entries(contacts)) {
    if (c.queue_id === null || !(c.queue_id in queues)) delete contacts[id];
  }
  for (const agent of Object.values(agents)) {
    const load: Record<string, number> = {};
    for (const s of Object.values(agent.contacts)) {
      const channel = s.channel ?? "null";
      load[channel] = (load[channel] ?? 0) + 1;
    }
    agent.load = load;
  }
  for (const [queueId, queue] of Object.entries(queues)) {
    const mine = Object.values(contacts).filter((c) => c.queue_id === queueId);
    queue.waiting = mine.filter((c) => c.state === "waiting").length;
    queue.offered = mine.filter((c) => c.state === "offered").length;
    queue.active = mine.filter((c) => c.state === "active").length;
    const waiting = mine.filter((c) => c.state === "waiting").map((c) => c.queued_at);
    queue.oldest_queued_at = waiting.length
      ? waiting.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b))
      : null;
    const members = Object.values(agents).filter((a) => a.queues && queueId in a.queues);
    const counts = {} as Record<AgentState, number>;
    for (const s of STATES) counts[s] = members.filter((a) => a.state === s).length;
    queue.agents = counts;
  }
}
