import { describe, expect, it } from "vitest";
import { DeskStore } from "./store";
import type { EventMessage, SnapshotMessage } from "./types";
import { agentToday, applyAnalytics, emptyAnalytics, type QueueFigures, type QueueInterval, secondsIn, shownAt } from "./analytics";

function interval(start: string, end: string, offered: number, sl: number | null): QueueInterval {
  const sums = {
    offered, answered: offered, answered_in_sl: 0, abandoned: 0, short_abandoned: 0, abandoned_in_sl: 0,
    overflowed: 0, transferred: 0, handled: offered, wait_answered_seconds: 0, wait_abandoned_seconds: 0,
    talk_seconds: 0, hold_seconds: 0, wrap_seconds: 0,
  };
  return { start, end, sums, kpis: { service_level: sl, asa_seconds: null, aht_seconds: null, abandon_rate: null } };
}

// Pushed at 10:07 UTC on 6 Dec (tenant in UTC): 3 today, 2 in 09:45–10:15, 1 in 10:00–10:15.
const figures: QueueFigures = {
  queue_id: "support",
  timezone: "UTC",
  today: interval("2026-12-06T00:00:00Z", "2026-12-07T00:00:00Z", 3, 0.5),
  last_30m: interval("2026-12-06T09:45:00Z", "2026-12-06T10:15:00Z", 2, 0.75),
  current: interval("2026-12-06T10:00:00Z", "2026-12-06T10:15:00Z", 1, 1),
};
const at = (iso: string) => Date.parse(iso);

describe("pushed queue figures", () => {
  it("replaces a queue's figures with each event and leaves other queues alone", () => {
    const view = emptyAnalytics();
    applyAnalytics(view, "analytics.queue_figures", figures);
    applyAnalytics(view, "analytics.queue_figures", { ...figures, queue_id: "sales" });
    const later = { ...figures, today: interval("2026-12-06T00:00:00Z", "2026-12-07T00:00:00Z", 4, 1) };
    applyAnalytics(view, "analytics.queue_figures", later);
    expect(view.queues.support.today.sums.offered).toBe(4);
    expect(view.queues.sales.today.sums.offered).toBe(3);
    applyAnalytics(view, "analytics.other", { queue_id: "support" });
    expect(Object.keys(view.queues).sort()).toEqual(["sales", "support"]);
  });

  it("shows today's figures only on their day", () => {
    expect(shownAt(figures, at("2026-12-06T23:59:00Z")).today?.sums.offered).toBe(3);
    expect(shownAt(figures, at("2026-12-07T00:00:00Z")).today).toBeNull();
    expect(shownAt(undefined, at("2026-12-06T10:07:00Z"))).toEqual({ today: null, last30: null });
  });

  it("moves the last 30 minutes on with the clock", () => {
    expect(shownAt(figures, at("2026-12-06T10:14:59Z")).last30?.service_level).toBe(0.75);
    // A quarter later with nothing new: only the pushed current interval is left of them.
    expect(shownAt(figures, at("2026-12-06T10:20:00Z")).last30?.service_level).toBe(1);
    expect(shownAt(figures, at("2026-12-06T10:30:00Z")).last30).toBeNull();
  });

  it("comes in the snapshot and moves with the events (the store)", () => {
    const snapshot = { type: "snapshot", reason: "register", last_event_id: 7, state: { analytics: { queues: { support: figures } } } };
    const store = new DeskStore("sup");
    store.applySnapshot(snapshot as SnapshotMessage);
    const later = { ...figures, today: interval("2026-12-06T00:00:00Z", "2026-12-07T00:00:00Z", 5, 0.8) };
    const event = { type: "event", id: 8, event: "analytics.queue_figures", version: 1, occurred_at: "", actor_id: null,
                    subject: { type: "queue", id: "support" }, data: later };
    store.handle(event as EventMessage);
    expect(store.untrusted).toBe(false);
    expect(store.state!.analytics.queues.support.today.sums.offered).toBe(5);
    // A snapshot of a server without the section (older) gives an empty one.
    store.applySnapshot({ ...snapshot, state: {} } as SnapshotMessage);
    expect(store.state!.analytics).toEqual({ queues: {}, channels: {}, agents: {}, teams: {} });
  });
});

describe("pushed agent figures", () => {
  const agent = {
    agent_id: "a1",
    timezone: "UTC",
    today: {
      start: "2026-12-06T00:00:00Z",
      end: "2026-12-07T00:00:00Z",
      sums: { handled: 2, talk_seconds: 60, hold_seconds: 0, wrap_seconds: 10, state_seconds: { available: 100 } },
      kpis: { aht_seconds: 35, occupancy: 0.4 },
    },
  };

  it("replaces an agent's figures with each event, apart from the queues'", () => {
    const view = emptyAnalytics();
    applyAnalytics(view, "analytics.agent_figures", agent);
    applyAnalytics(view, "analytics.agent_figures", { ...agent, today: { ...agent.today, kpis: { aht_seconds: 30, occupancy: 0.5 } } });
    expect(view.agents.a1.today.kpis.occupancy).toBe(0.5);
    expect(view.queues).toEqual({});
  });

  it("shows an agent's figures only on their day", () => {
    expect(agentToday(agent, at("2026-12-06T12:00:00Z"))?.kpis.occupancy).toBe(0.4);
    expect(agentToday(agent, at("2026-12-07T00:00:00Z"))).toBeNull();
    expect(agentToday(undefined, at("2026-12-06T12:00:00Z"))).toBeNull();
  });

  it("keeps a snapshot without agents' figures usable", () => {
    const store = new DeskStore("u1");
    store.applySnapshot({
      type: "snapshot",
      reason: "register",
      last_event_id: 1,
      state: { analytics: { queues: {} } },
    } as unknown as SnapshotMessage);
    expect(store.state.analytics.agents).toEqual({});
  });
});

describe("pushed channel and team figures", () => {
  const team = {
    team_id: "t1",
    timezone: "UTC",
    today: {
      start: "2026-12-06T00:00:00Z",
      end: "2026-12-07T00:00:00Z",
      sums: { handled: 3, talk_seconds: 90, hold_seconds: 0, wrap_seconds: 30, state_seconds: { available: 100, busy: 90, wrap_up: 30, "away:lunch": 600, away: 60 } },
      kpis: { aht_seconds: 40, occupancy: 0.5 },
    },
  };

  it("keeps each channel's and team's latest figures apart from the queues' and agents'", () => {
    const view = emptyAnalytics();
    applyAnalytics(view, "analytics.channel_figures", { ...figures, queue_id: undefined, channel: "chat" });
    applyAnalytics(view, "analytics.team_figures", team);
    applyAnalytics(view, "analytics.team_figures", { ...team, today: { ...team.today, kpis: { aht_seconds: 41, occupancy: 0.6 } } });
    expect(Object.keys(view.channels)).toEqual(["chat"]);
    expect(shownAt(view.channels.chat, at("2026-12-06T10:07:00Z")).today?.sums.offered).toBe(3);
    expect(view.teams.t1.today.kpis.occupancy).toBe(0.6);
    expect(view.queues).toEqual({});
    expect(view.agents).toEqual({});
  });

  it("drops a deleted team's figures (the store)", () => {
    const store = new DeskStore("admin");
    const state = { analytics: { teams: { t1: team } }, directory: { users: {}, teams: { t1: { id: "t1", name: "A", members: {} } } } };
    store.applySnapshot({ type: "snapshot", reason: "register", last_event_id: 1, state } as unknown as SnapshotMessage);
    const deleted = { type: "event", id: 2, event: "team.deleted", version: 1, occurred_at: "", actor_id: null,
                      subject: { type: "team", id: "t1" }, data: { team_id: "t1" } };
    store.handle(deleted as EventMessage);
    expect(store.state!.analytics.teams).toEqual({});
  });

  it("adds a team's time per state whatever the reason", () => {
    const today = agentToday(team, at("2026-12-06T12:00:00Z"));
    expect(secondsIn(today, ["away"])).toBe(660);
    expect(secondsIn(today, ["busy", "wrap_up"])).toBe(120);
    expect(secondsIn(null, ["available"])).toBe(0);
  });
});
