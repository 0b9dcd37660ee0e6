import { describe, expect, it } from "vitest";
import sessions from "./fixtures/sessions.json";
import { DeskStore } from "./store";
import type { DeskState, EventMessage, SnapshotMessage } from "./types";

// Estimates are figures of the moment a snapshot is built: no event carries them.
function withoutEstimates(state: DeskState): DeskState {
  const copy = structuredClone(state);
  for (const q of Object.values(copy.routing.queues)) delete q.estimate;
  for (const c of Object.values(copy.routing.contacts)) delete c.estimate;
  return copy;
}

function fresh(message: unknown): DeskState {
  const store = new DeskStore("nobody");
  store.applySnapshot(message as SnapshotMessage);
  return store.state!;
}

describe("snapshot + events = a fresh snapshot (recorded server sessions)", () => {
  for (const session of sessions as any[]) {
    it(`for ${session.viewer}`, () => {
      // (The supervisor's stream has a scope_changed snapshot in it: a team joined a queue.)
      const store = new DeskStore(session.viewer_id);
      const [snapshot, ...events] = session.messages;
      store.applySnapshot(snapshot);
      expect(events.length).toBeGreaterThan(10);
      for (const message of events) store.handle(message);
      expect(store.untrusted).toBe(false);
      expect(withoutEstimates(store.state!)).toEqual(withoutEstimates(fresh(session.fresh)));
      expect(store.lastEventId).toBeLessThanOrEqual(session.fresh.last_event_id);
    });
  }

  it("a recorded session is not trivially equal to its start", () => {
    const session = (sessions as any[])[0];
    expect(withoutEstimates(fresh(session.messages[0]))).not.toEqual(
      withoutEstimates(fresh(session.fresh)),
    );
  });
});

describe("order and trust", () => {
  const admin = (sessions as any[]).find((s) => s.viewer === "admin");

  it("ignores an event at or below the last id (a replay after a resume)", () => {
    const store = new DeskStore(admin.viewer_id);
    const [snapshot, ...events] = admin.messages as [SnapshotMessage, ...EventMessage[]];
    store.applySnapshot(snapshot);
    for (const event of events.slice(0, 20)) store.applyEvent(event);
    const before = structuredClone(store.state);
    for (const event of events.slice(0, 20)) expect(store.applyEvent(event)).toBe(false);
    expect(store.state).toEqual(before);
  });

  it("stops trusting its state on a routing event it cannot apply", () => {
    const store = new DeskStore(admin.viewer_id);
    store.applySnapshot(admin.messages[0]);
    const strange = { ...admin.messages[1], id: 10_000, event: "routing.something_new", data: {} };
    store.applyEvent(strange);
    expect(store.untrusted).toBe(true);
    store.applySnapshot({ ...admin.fresh, last_event_id: 10_001 });
    expect(store.untrusted).toBe(false);
  });

  it("events of domains it does not show change nothing", () => {
    const store = new DeskStore(admin.viewer_id);
    store.applySnapshot(admin.messages[0]);
    const before = structuredClone(store.state);
    store.applyEvent({ ...admin.messages[1], id: 10_000, event: "wfm.schedule_published", data: {} });
    expect(store.state).toEqual(before);
    expect(store.untrusted).toBe(false);
    expect(store.lastEventId).toBe(10_000);
  });

  it("an offer sent late gets its new deadline", () => {
    const store = new DeskStore(admin.viewer_id);
    store.applySnapshot(admin.fresh);
    const agentId = Object.keys(store.state!.routing.agents)[0];
    const step = (id: number, event: string, data: object) =>
      store.applyEvent({ ...admin.messages[1], id, event, data } as EventMessage);
    const offer = { offer_id: "x1#1", contact_id: "x1", agent_id: agentId };
    step(10_000, "routing.offer_created", {
      ...offer,
      queue_id: "q",
      channel: "chat",
      expires_at: "2026-01-02T12:00:30+00:00",
    });
    step(10_001, "routing.offer_extended", { ...offer, expires_at: "2026-01-02T12:00:36+00:00" });
    expect(store.untrusted).toBe(false);
    expect(store.state!.routing.agents[agentId].contacts.x1.ends_at).toBe("2026-01-02T12:00:36+00:00");
  });

  it("a voice call step replaces the call; its end removes it", () => {
    const store = new DeskStore(admin.viewer_id);
    store.applySnapshot(admin.messages[0]);
    const call = { call_id: "k1", state: "connected", muted: false, monitors: [] };
    const step = (id: number, event: string, data: object) =>
      store.applyEvent({ ...admin.messages[1], id, event, data } as EventMessage);
    step(10_000, "voice.call_state_changed", { call_id: "k1", call });
    step(10_001, "voice.call_state_changed", { call_id: "k1", call: { ...call, state: "held" } });
    expect(store.state!.voice.calls.k1.state).toBe("held");
    step(10_002, "voice.call_ended", { call_id: "k1" });
    expect(store.state!.voice.calls).toEqual({});
  });

  it("a call's live audio figures are kept beside it until it ends", () => {
    const store = new DeskStore(admin.viewer_id);
    store.applySnapshot(admin.messages[0]);
    const call = { call_id: "k1", state: "connected", muted: false, monitors: [] };
    const live = [{ leg: "agent", transport: "webrtc", loss_pct: 0, jitter_ms: 1, rtt_ms: 3, issues: [] }];
    const step = (id: number, event: string, data: object) =>
      store.applyEvent({ ...admin.messages[1], id, event, data } as EventMessage);
    step(10_000, "voice.call_state_changed", { call_id: "k1", call });
    step(10_001, "voice.call_quality", { call_id: "k1", live, audio: [] });
    step(10_002, "voice.call_state_changed", { call_id: "k1", call: { ...call, state: "held" } });
    expect(store.state!.voice.audio!.k1).toEqual(live);
    expect(store.state!.voice.calls.k1.state).toBe("held");
    step(10_003, "voice.call_ended", { call_id: "k1" });
    expect(store.state!.voice.audio).toEqual({});
  });
});
