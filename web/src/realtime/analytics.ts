// Today's figures per queue, channel, agent and team, pushed by the server (docs/kpis.md "Live
// figures"): the snapshot's `analytics` section, then each `analytics.*_figures` event replaces
// its key's entry.
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

/** A team's figures of the tenant's day: the agents report's total over its members. */
export interface TeamFigures {
  team_id: string;
  timezone: string;
  today: AgentInterval;
}

/** The queue report's figures of a day, the last 30 minutes and the current quarter hour. */
export interface ContactFigures {
  timezone: string;
  today: QueueInterval; // the tenant's day, midnight to midnight
  last_30m: QueueInterval; // the current 15-minute interval and the one before
  current: QueueInterval; // the current 15-minute interval
}

/** One queue's figures as of the event (or snapshot) that carried them. */
export interface QueueFigures extends ContactFigures {
  queue_id: string;
}

/** One channel's figures over every queue (sent to admins only). */
export interface ChannelFigures extends ContactFigures {
  channel: string;
}

export function emptyAnalytics(): AnalyticsSection {
  return { queues: {}, channels: {}, agents: {}, teams: {} };
}

export function applyAnalytics(view: AnalyticsSection, name: string, data: Record<string, any>): void {
  // Whole figures: the newest replaces what was there (a new day's replaces the old day's).
  if (name === "analytics.queue_figures") view.queues[data.queue_id] = data as QueueFigures;
  else if (name === "analytics.channel_figures") view.channels[data.channel] = data as ChannelFigures;
  else if (name === "analytics.agent_figures") view.agents[data.agent_id] = data as AgentFigures;
  else if (name === "analytics.team_figures") view.teams[data.team_id] = data as TeamFigures;
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
export function shownAt(figures: ContactFigures | undefined, now: number): Shown {
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

/** An agent's (or a team's) figures of today at `now`: null once their day is over (pushed when
 * they change, so the last push of yesterday is not today's), or when nothing was pushed. */
export function agentToday(figures: { today: AgentInterval } | undefined, now: number): AgentInterval | null {
  if (!figures) return null;
  const { start, end } = figures.today;
  return Date.parse(start) <= now && now < Date.parse(end) ? figures.today : null;
}

/** Seconds spent in these states (any reason: `away:lunch` is `away`) in the figures; 0 without. */
export function secondsIn(figures: AgentInterval | null, states: string[]): number {
  return Object.entries(figures?.sums.state_seconds ?? {})
    .filter(([key]) => states.includes(key.split(":", 1)[0]))
    .reduce((total, [, value]) => total + value, 0);
}
