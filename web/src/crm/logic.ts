// The CRM's part of the agent desktop, the pure half: what the card, the panel and the wrap-up
// show, decided from the API's answers (tested in crm.test.ts without a browser).
import type { Schemas } from "../api/client";

/** The server's refusal as api/client's ApiError carries it (read by shape: this module stays
 * free of the client, which needs a browser). */
function refusal(error: unknown): { status: number; code: string | null } | null {
  if (!(error instanceof Error) || typeof (error as { status?: unknown }).status !== "number") return null;
  const { status, code } = error as Error & { status: number; code?: string | null };
  return { status, code: code ?? null };
}

export type ContactCard = Schemas["ContactCard"];
export type CustomerCard = Schemas["CustomerCard"];
export type Disposition = Schemas["DispositionOut"];
export type TimelineItem = Schemas["TimelineItem"];
export type WrapUpEnd = Schemas["WrapUpEndIn"];

/** What the offer shows about the customer: their card, or (404) only who is calling. */
export type CardState =
  | { kind: "loading" }
  | { kind: "known"; card: ContactCard }
  | { kind: "unknown" }
  | { kind: "failed" };

/** The answer of `GET /crm/contacts/{id}/card` as a state: 404 is "no customer known". */
export async function readCard(fetchCard: () => Promise<ContactCard>): Promise<CardState> {
  try {
    return { kind: "known", card: await fetchCard() };
  } catch (error) {
    if (refusal(error)?.status === 404) return { kind: "unknown" };
    return { kind: "failed" };
  }
}

/** Whether a socket event says the card of this contact is there or now belongs to another
 * customer: the offer's card event, or the contact's record naming a customer other than the
 * one shown (a caller's number resolved after the offer, a contact linked by hand). */
export function cardEventFor(
  event: string,
  data: Record<string, unknown>,
  contactId: string,
  shownCustomerId: string | null = null,
): boolean {
  if (data.contact_id !== contactId) return false;
  if (event === "offer.customer_card") return true;
  const record = event === "interaction.created" || event === "interaction.updated";
  return record && typeof data.customer_id === "string" && data.customer_id !== shownCustomerId;
}

export interface ConsentShown {
  key: string; // "recording", "marketing", "opt_out.email"
  given: boolean;
}

/** The consent flags the customer answered, in a fixed order; unanswered ones are left out. */
export function consentFlags(consent: Schemas["ConsentOut"]): ConsentShown[] {
  const out: ConsentShown[] = [];
  if (consent.recording) out.push({ key: "recording", given: consent.recording.value });
  if (consent.marketing) out.push({ key: "marketing", given: consent.marketing.value });
  for (const channel of Object.keys(consent.opt_out ?? {}).sort()) {
    // An opt-out flag set means the customer does not want that channel.
    out.push({ key: `opt_out.${channel}`, given: !consent.opt_out[channel].value });
  }
  return out;
}

/** The codes an agent may pick: the active ones, by label. */
export function activeCodes(all: Disposition[]): Disposition[] {
  return all.filter((d) => d.active).sort((a, b) => a.label.localeCompare(b.label));
}

/** The body of the wrap-up's end: only what the agent gave (a blank note is no note). */
export function wrapUpBody(disposition: string, note: string): WrapUpEnd {
  const body: WrapUpEnd = {};
  if (disposition) body.disposition = disposition;
  const trimmed = note.trim();
  if (trimmed) body.note = trimmed;
  return body;
}

/** A refusal of the end the picker explains itself: the queue needs a code. */
export function dispositionRequired(error: unknown): boolean {
  const found = refusal(error);
  return found?.status === 422 && found.code === "disposition_required";
}

/** Newest first, whatever order a page came in (the API's order, kept stable for ties). */
export function newestFirst(items: TimelineItem[]): TimelineItem[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => Date.parse(b.item.at) - Date.parse(a.item.at) || a.index - b.index)
    .map(({ item }) => item);
}

/** The facts of a timeline entry worth a line: an interaction's channel and disposition, a
 * note's text, a case's number; the rest shows its kind alone. */
export function entryDetail(item: TimelineItem): string {
  if (item.interaction) {
    const i = item.interaction;
    return [i.channel, i.direction, i.disposition].filter((v) => typeof v === "string" && v).join(" · ");
  }
  if (item.note) return item.note.body ?? "";
  const d = item.data ?? {};
  for (const key of ["number", "disposition", "code", "status"]) {
    if (typeof d[key] === "string" && d[key]) return d[key] as string;
  }
  return "";
}
