// The personal dashboard's figures, from routing's events of today that the agent may see: the
// log read once (GET /events?since=midnight in the user's zone), then the live events. These are
// routing's facts, not the KPI definitions (which come with the KPI reports).
import type { AgentState, EventMessage } from "../realtime/types";

export interface Segment {
  state: AgentState;
  reason: string | null;
  from: number;
  to: number | null; // null: still in it
}

export interface Today {
  handled: number;
  handleSeconds: number; // from accepting a contact to ending or handing it on, plus wrap-up
  segments: Segment[];
}

type Wire = Pick<EventMessage, "id" | "event" | "data">;

export class TodayTally {
  private seen = new Set<number>();
  private started = new Map<string, number>(); // contact -> when it became active
  private wrapping = new Map<string, number>(); // contact -> when its wrap-up began
  handled = 0;
  handleSeconds = 0;
  segments: Segment[] = [];

  constructor(
    readonly agentId: string,
    readonly dayStart: number,
  ) {}

  add(message: Wire): void {
    if (this.seen.has(message.id) || !message.event.startsWith("routing.")) return;
    this.seen.add(message.id);
    const data = message.data;
    const mine = data.agent_id === this.agentId;
    const at = Date.parse(data.at);
    if (!mine || Number.isNaN(at) || at < this.dayStart) return;
    switch (message.event) {
      case "routing.offer_accepted":
      case "routing.agent_contact_started":
        this.started.set(data.contact_id, at);
        break;
      case "routing.contact_ended":
      case "routing.contact_transferred": {
        const from = this.started.get(data.contact_id);
        if (from !== undefined) {
          this.handled += 1;
          this.handleSeconds += (at - from) / 1000;
          this.started.delete(data.contact_id);
        }
        break;
      }
      case "routing.wrap_up_started":
        this.wrapping.set(data.contact_id, at);
        break;
      case "routing.wrap_up_ended": {
        const from = this.wrapping.get(data.contact_id);
        if (from !== undefined) this.handleSeconds += (at - from) / 1000;
        this.wrapping.delete(data.contact_id);
        break;
      }
      case "routing.agent_state_changed": {
        const last = this.segments[this.segments.length - 1];
        if (last && last.to === null) last.to = at;
        this.segments.push({ state: data.state, reason: data.reason ?? null, from: at, to: null });
        break;
      }
    }
  }

  get today(): Today {
    return { handled: this.handled, handleSeconds: this.handleSeconds, segments: [...this.segments] };
  }
}
