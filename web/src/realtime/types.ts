// The realtime protocol's messages and the snapshot's sections (docs/realtime.md). The socket
// is not in /openapi.json, so these are written here; the voice call is the API's CallOut.
import type { components } from "../api/schema";
import type { AgentFigures, ChannelFigures, QueueFigures, TeamFigures } from "./analytics";

export type AgentState = "offline" | "available" | "busy" | "wrap_up" | "away";
export const AGENT_STATES: AgentState[] = ["available", "busy", "wrap_up", "away", "offline"];

export interface QueueEntry {
  id: string;
  name: string;
  channels: string[];
  priority: number;
  service_level_seconds: number | null;
  service_level_target: number | null;
  waiting: number;
  offered: number;
  active: number;
  oldest_queued_at: string | null;
  agents: Record<AgentState, number>;
  // Figures of the moment the snapshot was built; no event keeps them current.
  estimate?: unknown;
}

export type SlotState = "offered" | "active" | "wrap_up";

export interface AgentSlot {
  state: SlotState;
  queue_id: string | null;
  channel: string | null;
  offer_id: string | null;
  ends_at: string | null;
}

export interface AgentEntry {
  id: string;
  name: string;
  teams: string[];
  queues: Record<string, number> | null;
  capacity: Record<string, number> | null;
  state: AgentState;
  reason: string | null;
  since: string | null;
  load: Record<string, number>;
  contacts: Record<string, AgentSlot>;
}

export interface ContactEntry {
  contact_id: string;
  queue_id: string | null;
  channel: string;
  priority: number;
  emergency: boolean;
  state: "waiting" | "offered" | "active";
  step: number;
  queued_at: string;
  agent_id: string | null;
  estimate?: unknown;
}

export interface RoutingSection {
  queues: Record<string, QueueEntry>;
  agents: Record<string, AgentEntry>;
  contacts: Record<string, ContactEntry>;
}

export interface UserCard {
  id: string;
  username: string;
  display_name: string;
  role: "admin" | "supervisor" | "agent";
  timezone: string;
  active: boolean;
}

export interface TeamEntry {
  id: string;
  name: string;
  members: Record<string, "member" | "supervisor">;
}

export interface DirectorySection {
  users: Record<string, UserCard>;
  teams: Record<string, TeamEntry>;
}

export type Call = components["schemas"]["CallOut"];

/** One leg's audio figures while the call is up (`voice.call_quality`, docs/voice.md "Audio
 * quality"): loss so far, jitter and round trip now, and what the server flagged. */
export interface LiveLeg {
  leg: "agent" | "customer";
  transport: "webrtc" | "rtp";
  loss_pct: number;
  jitter_ms: number;
  rtt_ms: number | null;
  issues: ("loss" | "jitter" | "rtt")[];
}

export interface VoiceSection {
  calls: Record<string, Call>;
  /** The latest live figures per call id (not in the snapshot: they come with the next event). */
  audio?: Record<string, LiveLeg[]>;
}

export type ImThread = components["schemas"]["ThreadOut"];
export type ImMessage = components["schemas"]["ImMessageOut"];
export type ImHand = components["schemas"]["HandOut"];

/** Team messages (docs/agent-guide.md, "Messages"): the viewer's threads and the raised hands
 * they see; the messages themselves are read over HTTP (im/history.ts). */
export interface ImSection {
  threads: Record<string, ImThread>;
  hands: Record<string, ImHand>;
}

/** Today's KPIs of the queues the viewer sees, by queue id (realtime/analytics.ts). */
export interface AnalyticsSection {
  queues: Record<string, QueueFigures>;
  channels: Record<string, ChannelFigures>; // by channel: admins only (docs/kpis.md "Live figures")
  agents: Record<string, AgentFigures>; // by agent id: today's figures of the agents one sees
  teams: Record<string, TeamFigures>; // by team id: the teams one supervises (admins: all)
}

export interface DeskState {
  directory: DirectorySection;
  routing: RoutingSection;
  voice: VoiceSection;
  im: ImSection;
  analytics: AnalyticsSection;
}

export interface SnapshotMessage {
  type: "snapshot";
  reason: "register" | "unknown_event_id" | "scope_changed";
  last_event_id: number;
  state: Partial<DeskState>;
}

export interface EventMessage {
  type: "event";
  id: number;
  event: string;
  version: number;
  occurred_at: string;
  actor_id: string | null;
  subject: { type: string; id: string };
  data: Record<string, any>;
}

export interface PongMessage {
  type: "pong";
  last_event_id: number;
}

export interface ErrorMessage {
  type: "error";
  status: number;
  detail: string;
}

export type ServerMessage = SnapshotMessage | EventMessage | PongMessage | ErrorMessage;
