import type { paths } from "../api/schema";
import { startOfDay } from "../i18n";

type Query = NonNullable<paths["/api/v1/audit-log"]["get"]["parameters"]["query"]>;

export const PAGE = 50;

export interface Filters {
  action: string;
  target_type: string;
  actor_user_id: string;
  from: string; // YYYY-MM-DD, the first day shown (in the user's zone)
  to: string; // YYYY-MM-DD, the last day shown
}

export const NONE: Filters = { action: "", target_type: "", actor_user_id: "", from: "", to: "" };

/** The calendar day after YYYY-MM-DD: `until` is the midnight that ends the last day shown, in
 * the user's zone (a DST day is not 24 h long, so no adding of hours to an instant). */
function nextDay(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** The filters as the API's: the date range covers whole days in the user's zone. */
export function queryOf(f: Filters): Query {
  const q: Query = { limit: PAGE };
  if (f.action.trim()) q.action = f.action.trim();
  if (f.target_type.trim()) q.target_type = f.target_type.trim();
  if (f.actor_user_id) q.actor_user_id = f.actor_user_id;
  if (f.from) q.since = startOfDay(f.from).toISOString();
  if (f.to) q.until = startOfDay(nextDay(f.to)).toISOString();
  return q;
}

