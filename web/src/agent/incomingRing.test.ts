import { describe, expect, it } from "vitest";
import type { EventMessage } from "../realtime/types";
import { incomingRing } from "./incomingRing";

const step = (state: string, detail: Record<string, unknown>, agentId = "b"): EventMessage =>
  ({ event: "voice.call_state_changed", id: 1, data: { call_id: "k1", state, agent_id: agentId, detail } }) as unknown as EventMessage;

describe("another agent calling (the ring on the user's own event stream)", () => {
  const ring = { internal: true, from: "a", ring_id: "k1" };

  it("rings on `ringing` for me, and stops on its `ring_ended`", () => {
    const ringing = incomingRing(null, step("ringing", ring), "b");
    expect(ringing).toEqual({ ringId: "k1", from: "a" });
    expect(incomingRing(ringing, step("ring_ended", { ...ring, why: "no answer" }), "b")).toBeNull();
  });

  it("ignores another user's ring, a ring_ended of another ring, and ordinary call steps", () => {
    expect(incomingRing(null, step("ringing", ring, "c"), "b")).toBeNull();
    const ringing = incomingRing(null, step("ringing", ring), "b");
    expect(incomingRing(ringing, step("ring_ended", { ...ring, ring_id: "k2" }), "b")).toEqual(ringing);
    expect(incomingRing(null, step("ringing", { offer: "o1" }), "b")).toBeNull();
  });
});
