import { describe, expect, it } from "vitest";
import { startOfDay } from "./index";

describe("startOfDay", () => {
  it("is the instant the day starts in the zone", () => {
    expect(startOfDay("2026-12-06", "UTC").toISOString()).toBe("2026-12-06T00:00:00.000Z");
    expect(startOfDay("2026-12-06", "Europe/Berlin").toISOString()).toBe("2026-12-05T23:00:00.000Z");
    expect(startOfDay("2026-07-01", "Europe/Riga").toISOString()).toBe("2026-06-30T21:00:00.000Z");
    expect(startOfDay("2026-12-06", "America/New_York").toISOString()).toBe("2026-12-06T05:00:00.000Z");
  });

  it("follows a DST change on the day itself", () => {
    // Berlin goes to summer time on 2026-03-29 at 02:00; midnight is still winter time.
    expect(startOfDay("2026-03-29", "Europe/Berlin").toISOString()).toBe("2026-03-28T23:00:00.000Z");
    expect(startOfDay("2026-03-30", "Europe/Berlin").toISOString()).toBe("2026-03-29T22:00:00.000Z");
  });
});
