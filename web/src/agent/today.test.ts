import { describe, expect, it } from "vitest";
import { TodayTally } from "./today";

const me = "agent-1";
const day = Date.parse("2026-11-23T00:00:00Z");
let id = 0;
const ev = (event: string, at: string, data: object = {}) => ({
  id: ++id,
  event,
  data: { agent_id: me, at: `2026-11-23T${at}Z`, ...data },
});

describe("today's figures from routing's events", () => {
  it("counts handled contacts, handle time with wrap-up, and the state time line", () => {
    const tally = new TodayTally(me, day);
    const events = [
      ev("routing.agent_state_changed", "08:00:00", { state: "available", reason: null }),
      ev("routing.offer_created", "08:01:00", { contact_id: "c1" }),
      ev("routing.offer_accepted", "08:01:10", { contact_id: "c1" }),
      ev("routing.agent_state_changed", "08:01:10", { state: "busy", reason: null }),
      ev("routing.contact_ended", "08:05:10", { contact_id: "c1" }),
      ev("routing.wrap_up_started", "08:05:10", { contact_id: "c1" }),
      ev("routing.wrap_up_ended", "08:06:10", { contact_id: "c1" }),
      ev("routing.offer_accepted", "08:07:00", { contact_id: "c2", agent_id: "someone-else" }),
    ];
    for (const e of events) tally.add(e);
    for (const e of events) tally.add(e); // the same events again (log, then live): once
    expect(tally.today.handled).toBe(1);
    expect(tally.today.handleSeconds).toBe(300);
    expect(tally.today.segments.map((s) => s.state)).toEqual(["available", "busy"]);
    expect(tally.today.segments[0].to).toBe(Date.parse("2026-11-23T08:01:10Z"));
    expect(tally.today.segments[1].to).toBeNull();
  });

  it("ignores what happened before today", () => {
    const tally = new TodayTally(me, Date.parse("2026-11-23T08:02:00Z"));
    tally.add(ev("routing.offer_accepted", "08:01:10", { contact_id: "c1" }));
    tally.add(ev("routing.contact_ended", "08:05:10", { contact_id: "c1" }));
    expect(tally.today.handled).toBe(0);
  });
});
