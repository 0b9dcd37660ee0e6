import { describe, expect, it } from "vitest";
import { blendingDraft, blendingJson, workingHoursDraft, workingHoursJson } from "./agentSettings";

const CHANNELS = ["voice", "chat", "email"];

describe("blending", () => {
  it("reads an unlisted held channel as allowing everything beside it", () => {
    expect(blendingDraft({}, CHANNELS)).toEqual({ voice: ["chat", "email"], chat: ["voice", "email"], email: ["voice", "chat"] });
  });

  it("reads a listed channel as allowing only what it lists", () => {
    const draft = blendingDraft({ voice: [], chat: ["email"] }, CHANNELS);
    expect(draft.voice).toEqual([]);
    expect(draft.chat).toEqual(["email"]);
    expect(draft.email).toEqual(["voice", "chat"]);
  });

  it("writes only the held channels that block something", () => {
    expect(blendingJson({ voice: [], chat: ["voice", "email"], email: ["chat"] }, CHANNELS)).toEqual({ voice: [], email: ["chat"] });
  });

  it("round-trips the API's matrix", () => {
    const api = { voice: [], chat: ["email"] };
    expect(blendingJson(blendingDraft(api, CHANNELS), CHANNELS)).toEqual(api);
  });

  it("ignores a channel that is not (or no longer) in capacity", () => {
    expect(blendingJson({ voice: ["chat", "fax"] }, ["voice", "chat"])).toEqual({});
  });
});

describe("working hours", () => {
  it("shows each day's intervals as text and closed days as empty", () => {
    const draft = workingHoursDraft({ mon: [["08:00", "12:00"], ["13:00", "17:00"]] });
    expect(draft.mon).toBe("08:00-12:00, 13:00-17:00");
    expect(draft.sun).toBe("");
  });

  it("sends days with hours only, and what it cannot read as typed", () => {
    const draft = { ...workingHoursDraft({}), tue: "09:00-17:00", wed: "9 to 5" };
    expect(workingHoursJson(draft)).toEqual({ tue: [["09:00", "17:00"]], wed: [["9 to 5", ""]] });
  });
});
