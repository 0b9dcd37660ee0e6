// The CRM's reads the desk makes: the card of a contact (re-read when the socket says it is
// there, and after every snapshot), the tenant's wrap-up codes, a customer's timeline.
import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useDeskContext } from "../context";
import { cardEventFor, readCard, type CardState, type Disposition, type TimelineItem, newestFirst } from "./logic";

// What was read last, shown while a new read runs (the offer's card, then the contact's panel,
// show the same customer: no "loading" flash between them). Always read again on mount.
const lastCard = new Map<string, CardState>();
const lastTimeline = new Map<string, TimelineItem[]>();

export function useCard(contactId: string): CardState {
  const { store } = useDeskContext();
  const [state, setState] = useState<CardState>(lastCard.get(contactId) ?? { kind: "loading" });
  const [asked, setAsked] = useState(0);
  const shown = state.kind === "known" ? state.card.customer.id : null;
  useEffect(
    () =>
      store.onEvent((message) => {
        if (cardEventFor(message.event, message.data, contactId, shown)) setAsked((n) => n + 1);
      }),
    [store, contactId, shown],
  );
  useEffect(() => {
    let live = true;
    readCard(() =>
      ok(api.GET("/api/v1/crm/contacts/{contact_id}/card", { params: { path: { contact_id: contactId } } })),
    ).then((found) => {
      if (found.kind !== "failed") lastCard.set(contactId, found);
      if (live) setState(found);
    });
    return () => {
      live = false;
    };
  }, [contactId, asked, store.snapshots]);
  return state;
}

let codes: Promise<Disposition[]> | null = null;

/** The tenant's codes, read once per page (an admin's change shows on the next load). */
export function useDispositions(): Disposition[] | null {
  const [found, setFound] = useState<Disposition[] | null>(null);
  useEffect(() => {
    codes ??= ok(api.GET("/api/v1/crm/dispositions")).catch((error) => {
      codes = null;
      throw error;
    });
    codes.then(setFound).catch(() => setFound([]));
  }, []);
  return found;
}

/** The first page of a customer's journey, newest first. */
export function useTimeline(customerId: string | null): TimelineItem[] | null {
  const [items, setItems] = useState<TimelineItem[] | null>((customerId && lastTimeline.get(customerId)) || null);
  useEffect(() => {
    if (!customerId) return;
    let live = true;
    ok(
      api.GET("/api/v1/crm/customers/{customer_id}/timeline", {
        params: { path: { customer_id: customerId }, query: { limit: 20 } },
      }),
    )
      .then((page) => {
        const sorted = newestFirst(page.items);
        lastTimeline.set(customerId, sorted);
        if (live) setItems(sorted);
      })
      .catch(() => live && setItems([]));
    return () => {
      live = false;
    };
  }, [customerId]);
  return items;
}
