// Today's figures per queue, pushed by the server (docs/kpis.md "Live figures"): the snapshot's
// `analytics` section, then each `analytics.queue_figures` event replaces its queue's entry.
import type { Schemas } from "../api/client";
import type { AnalyticsSection } from "./types";

export type QueueInterval = Schemas["KpiQueueInterval"];
export type AgentInterval = Schemas["KpiAgentInterval"];

/** One agent's figures of the tenant's day (the agents report's total for today). */
export interface AgentFigures {
  agent_id: string;
  timezone: string;
  today: AgentInterval;
}

/** One queue's figures as of the event (or snapshot) that carried them. */
export interface QueueFigures {
  queue_id: string;
  timezone: string;
  today: QueueInterval; // the tenant's day, midnight to midnight
  last_30m: QueueInterval; // the current 15-minute interval and the one before
  current: QueueInterval; // the current 15-minute interval
}

export function emptyAnalytics(): AnalyticsSection {
  return { queues: {}, agents: {} };
}

export function applyAnalytics(view: AnalyticsSection, name: string, data: Record<string, any>): void {
  // Whole figures: the newest replaces what was there (a new day's replaces the old day's).
  if (name === "analytics.queue_figures") view.queues[data.queue_id] = data as QueueFigures;
  else if (name === "analytics.agent_figures") view.agents[data.agent_id] = data as AgentFigures;
}

const QUARTER_MS = 15 * 60_000;

export interface Shown {
  today: QueueInterval | null; // null: nothing counted today (yet)
  last30: QueueInterval["kpis"] | null; // null: nothing counted in the last 30 minutes
}

/** What the figures say at `now`: the server pushes them when they change, not when time
 * passes, so figures of an earlier day are no longer today's, and the last 30 minutes move on
 * with the clock (one quarter later, the pushed current interval is all that is left of them;
 * two quarters later, nothing is). */
export function shownAt(figures: QueueFigures | undefined, now: number): Shown {
  if (!figures) return { today: null, last30: null };
  const within = (i: QueueInterval) => Date.parse(i.start) <= now && now < Date.parse(i.end);
  const today = within(figures.today) ? figures.today : null;
  const windowStart = Math.floor(now / QUARTER_MS) * QUARTER_MS - QUARTER_MS;
  const last30 =
    Date.parse(figures.last_30m.start) === windowStart
      ? figures.last_30m.kpis
      : Date.parse(figures.current.start) === windowStart
        ? figures.current.kpis
        : null;
  return { today, last30 };
}

/** An agent's figures of today at `now`: null once their day is over (pushed when they change,
 * so the last push of yesterday is not today's), or when nothing of theirs was pushed. */
export function agentToday(figures: AgentFigures | undefined, now: number): AgentInterval | null {
  if (!figures) return null;
  const { start, end } = figures.today;
  return Date.parse(start) <= now && now < Date.parse(end) ? figures.today : null;
}
