import { describe, expect, it } from "vitest";
import { emptyHours, errorUnder, withoutErrors, hoursDraft, hoursJson, intervalsOf, overflowDraft, overflowJson } from "./queueSettings";

describe("queue hours in the form and in the API", () => {
  it("reads intervals as typed, sending what it cannot read for the API to name", () => {
    expect(intervalsOf("08:00-12:00, 13:00 – 18:00")).toEqual([
      ["08:00", "12:00"],
      ["13:00", "18:00"],
    ]);
    expect(intervalsOf(" ")).toEqual([]);
    expect(intervalsOf("9am")).toEqual([["9am", ""]]);
  });

  it("turns the form into the API's hours and back", () => {
    const draft = {
      ...emptyHours("Europe/Berlin"),
      enabled: true,
      days: { ...emptyHours().days, mon: "08:00-18:00", sat: "22:00-02:00" },
      holidays: "2026-12-24, 2026-12-31\n2026-12-24",
      country: "DE",
      subdivision: " BY ",
    };
    const json = hoursJson(draft);
    expect(json).toEqual({
      timezone: "Europe/Berlin",
      weekly: { mon: [["08:00", "18:00"]], sat: [["22:00", "02:00"]] },
      holidays: ["2026-12-24", "2026-12-31"],
      holiday_country: "DE",
      holiday_subdivision: "BY",
    });
    const back = hoursDraft(json);
    expect(back.days.mon).toBe("08:00-18:00");
    expect(back.days.tue).toBe("");
    expect(back.holidays).toBe("2026-12-24, 2026-12-31");
    expect(hoursJson(back)).toEqual(json);
  });

  it("has no hours when switched off, and none read as switched off", () => {
    expect(hoursJson({ ...emptyHours(), days: { ...emptyHours().days, mon: "08:00-09:00" } })).toBeNull();
    expect(hoursDraft(null, "Europe/Riga")).toEqual(emptyHours("Europe/Riga"));
    expect(hoursJson({ ...emptyHours(), enabled: true })).toEqual({ timezone: "UTC", weekly: {}, holidays: [], holiday_country: null, holiday_subdivision: null });
  });
});

describe("overflow actions", () => {
  it("names a queue only for a queue overflow, and none is null", () => {
    expect(overflowJson({ kind: "queue", queueId: " spill ", message: "" })).toEqual({ kind: "queue", queue_id: "spill" });
    expect(overflowJson({ kind: "voicemail", queueId: "spill", message: "Leave a message" })).toEqual({ kind: "voicemail", message: "Leave a message" });
    expect(overflowJson({ kind: "", queueId: "x", message: "y" })).toBeNull();
    expect(overflowDraft({ kind: "callback", queue_id: null, message: null })).toEqual({ kind: "callback", queueId: "", message: "" });
    expect(overflowDraft(null).kind).toBe("");
  });
});

describe("refusals on the field that holds the value", () => {
  it("finds a refusal of a part of the field", () => {
    const errors = { "hours.weekly.mon.0.1": "bad time", "on_max_wait": "required" };
    expect(errorUnder(errors, "hours.weekly.mon")).toBe("bad time");
    expect(errorUnder(errors, "hours.weekly.tue")).toBeUndefined();
    expect(errorUnder(errors, "on_max_wait")).toBe("required");
    expect(errorUnder(errors, "on_max")).toBeUndefined();
  });

  it("forgets the refusals of a field the admin changes, and only those", () => {
    const errors = { "hours.weekly.mon.0.1": "bad time", "hours.weekly.monday": "x", name: "taken" };
    expect(withoutErrors(errors, "hours.weekly.mon")).toEqual({ "hours.weekly.monday": "x", name: "taken" });
    expect(withoutErrors(errors, "priority")).toBe(errors);
    expect(withoutErrors(errors, undefined)).toBe(errors);
  });
});
