import { describe, expect, it } from "vitest";
import { alwaysOpen, backwards, hoursBody, hoursOf, moved, opened, questionsOf, templatesBody, timeZones } from "./widgetSettings";

describe("questions", () => {
  it("are the server's defaults when none are stored, and read as typed otherwise", () => {
    expect(questionsOf(undefined).map((q) => q.key)).toEqual(["name", "email"]);
    expect(questionsOf([{ key: "lang", label: "Language", type: "language" }, { key: "x", type: "odd" }])).toEqual([
      { key: "lang", label: "Language", type: "language", required: false },
      { key: "x", label: "", type: "text", required: false },
    ]);
  });
  it("move up and down within the list", () => {
    expect(moved(["a", "b", "c"], 2, -1)).toEqual(["a", "c", "b"]);
    expect(moved(["a", "b", "c"], 0, 1)).toEqual(["b", "a", "c"]);
    const list = ["a", "b"];
    expect(moved(list, 0, -1)).toBe(list);
  });
});

describe("business hours", () => {
  it("are null when always open, closed days left out", () => {
    expect(hoursBody(alwaysOpen("Europe/Riga"))).toBeNull();
    const h = opened(alwaysOpen("Europe/Riga"));
    h.days.sat = [{ from: " 10:00", to: "14:00 " }];
    expect(hoursBody(h)).toEqual({
      timezone: "Europe/Riga",
      days: { mon: [["09:00", "17:00"]], tue: [["09:00", "17:00"]], wed: [["09:00", "17:00"]], thu: [["09:00", "17:00"]], fri: [["09:00", "17:00"]], sat: [["10:00", "14:00"]] },
    });
  });
  it("opening keeps spans already there, and none stored reads as always open in the fallback zone", () => {
    const h = { ...alwaysOpen("UTC"), days: { ...alwaysOpen().days, sun: [{ from: "10:00", to: "11:00" }] } };
    expect(opened(h).days.mon).toEqual([]);
    expect(hoursOf(null, "Asia/Tokyo")).toEqual(alwaysOpen("Asia/Tokyo"));
    expect(hoursOf({ timezone: "UTC", days: {} }).alwaysOpen).toBe(false);
  });
  it("a span ending before it starts is told only when both times are times", () => {
    expect(backwards({ from: "14:00", to: "13:00" })).toBe(true);
    expect(backwards({ from: "09:00", to: "24:00" })).toBe(false);
    expect(backwards({ from: "9", to: "" })).toBe(false);
  });
  it("zones to choose from start with UTC", () => {
    expect(timeZones()[0]).toBe("UTC");
  });
});

describe("templates", () => {
  it("send a count that is not a whole number as typed, for the API to refuse on the field", () => {
    expect(templatesBody([{ name: "a", language: "en", parameters: "1.5", description: "" }])[0].parameters).toBe("1.5");
  });
});
