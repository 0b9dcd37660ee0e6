import { describe, expect, it } from "vitest";
import { setTimeZone } from "../i18n";
import { queryOf } from "./auditQuery";

describe("the audit log's filters as the API's", () => {
  it("sends only what is filled in, trimmed", () => {
    expect(queryOf({ action: " api_token.* ", target_type: "", actor_user_id: "", from: "", to: "" })).toEqual({ limit: 50, action: "api_token.*" });
  });

  it("covers whole days in the user's zone, the last one included", () => {
    setTimeZone("Europe/Berlin");
    const q = queryOf({ action: "", target_type: "team", actor_user_id: "u1", from: "2026-03-28", to: "2026-03-29" });
    expect(q).toEqual({
      limit: 50,
      target_type: "team",
      actor_user_id: "u1",
      since: "2026-03-27T23:00:00.000Z",
      until: "2026-03-29T22:00:00.000Z", // the 29th is 23 hours long there
    });
    setTimeZone(undefined);
  });
});
