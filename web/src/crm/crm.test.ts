import { describe, expect, it } from "vitest";
import {
  activeCodes,
  cardEventFor,
  consentFlags,
  dispositionRequired,
  entryDetail,
  newestFirst,
  readCard,
  wrapUpBody,
  type ContactCard,
  type Disposition,
  type TimelineItem,
} from "./logic";

/** Shaped as api/client's ApiError (which needs a browser to import). */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    detail: string,
  ) {
    super(detail);
  }
}

const flag = (value: boolean) => ({ value, source: "call", at: "2026-12-01T10:00:00Z" });

describe("the card of an offer", () => {
  it("is the card when the API has one, 'unknown' on 404, 'failed' otherwise", async () => {
    const card = { contact_id: "c1" } as ContactCard;
    expect(await readCard(async () => card)).toEqual({ kind: "known", card });
    const notFound = new ApiError(404, null, "no customer");
    expect(await readCard(() => Promise.reject(notFound))).toEqual({ kind: "unknown" });
    const broken = new ApiError(500, null, "boom");
    expect(await readCard(() => Promise.reject(broken))).toEqual({ kind: "failed" });
    expect(await readCard(() => Promise.reject(new TypeError("offline")))).toEqual({ kind: "failed" });
  });

  it("is re-read on the card event of this contact only", () => {
    expect(cardEventFor("offer.customer_card", { contact_id: "c1" }, "c1")).toBe(true);
    expect(cardEventFor("offer.customer_card", { contact_id: "c2" }, "c1")).toBe(false);
    expect(cardEventFor("routing.contact_offered", { contact_id: "c1" }, "c1")).toBe(false);
  });

  it("is re-read when the contact's record names another customer than the one shown", () => {
    const record = { contact_id: "c1", customer_id: "k1" };
    expect(cardEventFor("interaction.created", record, "c1")).toBe(true); // none shown yet
    expect(cardEventFor("interaction.updated", record, "c1", "k1")).toBe(false); // same one
    expect(cardEventFor("interaction.updated", record, "c1", "k0")).toBe(true);
    expect(cardEventFor("interaction.updated", { contact_id: "c1", customer_id: null }, "c1")).toBe(false);
    expect(cardEventFor("interaction.updated", record, "c2")).toBe(false);
  });

  it("shows the consent flags answered, an opt-out as consent not given", () => {
    expect(consentFlags({ opt_out: {} })).toEqual([]);
    const consent = { recording: flag(false), marketing: flag(true), opt_out: { sms: flag(true), email: flag(false) } };
    expect(consentFlags(consent)).toEqual([
      { key: "recording", given: false },
      { key: "marketing", given: true },
      { key: "opt_out.email", given: true },
      { key: "opt_out.sms", given: false },
    ]);
  });
});

describe("the wrap-up", () => {
  const code = (c: string, label: string, active = true) => ({ code: c, label, active }) as Disposition;

  it("offers the active codes by label", () => {
    const codes = activeCodes([code("z", "Sale made"), code("old", "Retired", false), code("a", "Call back later")]);
    expect(codes.map((c) => c.code)).toEqual(["a", "z"]);
  });

  it("sends only what the agent gave", () => {
    expect(wrapUpBody("", "   ")).toEqual({});
    expect(wrapUpBody("resolved", "")).toEqual({ disposition: "resolved" });
    expect(wrapUpBody("", " Reset the router. ")).toEqual({ note: "Reset the router." });
  });

  it("recognises the queue's demand for a code", () => {
    expect(dispositionRequired(new ApiError(422, "disposition_required", "x"))).toBe(true);
    expect(dispositionRequired(new ApiError(422, null, "not one of the codes"))).toBe(false);
    expect(dispositionRequired(new ApiError(409, "disposition_required", "x"))).toBe(false);
    expect(dispositionRequired(new Error("x"))).toBe(false);
  });
});

describe("the timeline", () => {
  const item = (id: string, at: string, extra: Partial<TimelineItem> = {}) =>
    ({ id, at, kind: "note", data: {}, ref_id: id, ref_type: "note", ...extra }) as TimelineItem;

  it("lists newest first, ties in the API's order", () => {
    const items = [item("a", "2026-12-01T10:00:00Z"), item("b", "2026-12-03T10:00:00Z"), item("c", "2026-12-01T10:00:00Z")];
    expect(newestFirst(items).map((i) => i.id)).toEqual(["b", "a", "c"]);
  });

  it("describes an entry by what it holds", () => {
    const interaction = { channel: "voice", direction: "inbound", disposition: "resolved" } as TimelineItem["interaction"];
    expect(entryDetail(item("i", "2026-12-01T10:00:00Z", { kind: "interaction", interaction }))).toBe("voice · inbound · resolved");
    const note = { body: "Prefers mornings" } as TimelineItem["note"];
    expect(entryDetail(item("n", "2026-12-01T10:00:00Z", { note }))).toBe("Prefers mornings");
    expect(entryDetail(item("k", "2026-12-01T10:00:00Z", { kind: "case_created", data: { number: "C-1001" } }))).toBe("C-1001");
    expect(entryDetail(item("m", "2026-12-01T10:00:00Z", { kind: "merged", data: { merged_id: "x" } }))).toBe("");
  });
});
