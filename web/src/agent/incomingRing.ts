import type { EventMessage } from "../realtime/types";

export interface IncomingRing {
  ringId: string;
  from: string;
}

/** Another agent calling this one (docs/voice.md, "Browser phone"): the ring is a step on the
 * user's own event stream (`ringing`, then `ring_ended` when it is answered or given up). */
export function incomingRing(current: IncomingRing | null, message: EventMessage, me: string | undefined): IncomingRing | null {
  if (message.event !== "voice.call_state_changed") return current;
  const data = message.data as { state?: string; agent_id?: string | null; detail?: Record<string, unknown> };
  const detail = data.detail ?? {};
  if (!detail.internal || data.agent_id !== me || typeof detail.ring_id !== "string") return current;
  if (data.state === "ringing") return { ringId: detail.ring_id, from: String(detail.from ?? "") };
  if (data.state === "ring_ended" && current?.ringId === detail.ring_id) return null;
  return current;
}
