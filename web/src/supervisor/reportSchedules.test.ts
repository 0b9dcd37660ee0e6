import { describe, expect, it } from "vitest";
import { addresses, bodyOf, check, draftOf, emptyDraft } from "./reportSchedules";

describe("scheduled report form", () => {
  it("sends only the filters the report has, and the weekday only when weekly", () => {
    const draft = { ...emptyDraft("reports@example.com"), name: " Daily ", queue: "q1", agent: "a1", recipients: "a@x.org, b@x.org\nc@x.org" };
    expect(bodyOf(draft)).toEqual({
      name: "Daily",
      report: "queues",
      period: "previous_day",
      format: "csv",
      cadence: "daily",
      at: "07:00",
      interval: "60m",
      queue_id: "q1",
      recipients: ["a@x.org", "b@x.org", "c@x.org"],
      sender_address: "reports@example.com",
      language: "en",
    });
    expect(bodyOf({ ...draft, ...emptyDraft("r@x.org", "lv") }).language).toBe("lv");
    const agents = bodyOf({ ...draft, report: "agents", cadence: "weekly", weekday: 4, version: 3 });
    expect(agents.queue_id).toBeUndefined();
    expect([agents.agent_id, agents.weekday, agents.version]).toEqual(["a1", 4, 3]);
    expect(bodyOf({ ...draft, report: "contacts" }).queue_id).toBe("q1");
  });

  it("refuses on the field what the API would", () => {
    const draft = { ...emptyDraft(), at: "24:00", recipients: "" };
    expect(check(draft)).toEqual({ name: "required", at: "time", recipients: "required", sender_address: "required" });
    const ok = { ...emptyDraft("r@x.org"), name: "n", recipients: "a@x.org" };
    expect(check(ok)).toEqual({});
    expect(check({ ...ok, recipients: "a@x.org not-an-address" })).toEqual({ recipients: "address" });
    expect(check({ ...ok, recipients: "a@x.org A@X.org" })).toEqual({ recipients: "twice" });
    const many = Array.from({ length: 51 }, (_, i) => `r${i}@x.org`).join(",");
    expect(check({ ...ok, recipients: many })).toEqual({ recipients: "tooMany" });
    expect(addresses(" a@x.org;b@x.org ,, ")).toEqual(["a@x.org", "b@x.org"]);
  });

  it("edits a schedule as it was saved", () => {
    const saved = {
      id: "s1", name: "W", report: "agents", queue_id: null, channel: null, agent_id: "a1", interval: "day",
      period: "previous_week", format: "xlsx", cadence: "weekly", weekday: 0, at: "06:30",
      recipients: ["a@x.org", "b@x.org"], sender_address: "r@x.org", language: "de", owner_id: "u", next_due_at: "2026-12-07T04:30:00Z",
      last_run: null, created_at: "2026-12-01T00:00:00Z", updated_at: "2026-12-01T00:00:00Z", version: 2,
    } as const;
    const draft = draftOf({ ...saved, recipients: [...saved.recipients] });
    expect(bodyOf(draft)).toMatchObject({ agent_id: "a1", weekday: 0, version: 2, recipients: ["a@x.org", "b@x.org"], interval: "day", language: "de" });
  });
});
