// Applying directory and voice events (docs/realtime.md, docs/voice.md "The realtime snapshot").
import { UnknownEvent } from "./routing";
import type { DirectorySection, VoiceSection } from "./types";

export function applyVoice(view: VoiceSection, name: string, data: Record<string, any>): void {
  // Configuration events (SIP logins, flows, …) and recordings do not change live calls.
  if (!("call_id" in data)) return;
  if (name === "voice.call_ended") {
    delete view.calls[data.call_id];
    if (view.audio) delete view.audio[data.call_id];
  } else if (name === "voice.call_quality" && Array.isArray(data.live)) {
    // The call's latest audio figures (kept beside the call: a step replaces the call).
    (view.audio ??= {})[data.call_id] = data.live;
  } else if ((name === "voice.call_started" || name === "voice.call_state_changed") && data.call) {
    // A call step carries the whole call as it now stands: replace (or add) it.
    view.calls[data.call_id] = data.call;
  }
}

function isAdmin(view: DirectorySection, viewer: string): boolean {
  return view.users[viewer]?.role === "admin";
}

/** Who a viewer may still see after a team change: themselves, and a supervisor their teams. */
function prune(view: DirectorySection, viewer: string): void {
  if (isAdmin(view, viewer)) return;
  const keep = new Set([viewer]);
  if (view.users[viewer]?.role === "supervisor") {
    for (const team of Object.values(view.teams)) {
      if (team.members[viewer] === "supervisor") Object.keys(team.members).forEach((m) => keep.add(m));
    }
  }
  for (const id of Object.keys(view.users)) if (!keep.has(id)) delete view.users[id];
}

export function applyDirectory(
  view: DirectorySection,
  name: string,
  data: Record<string, any>,
  viewer: string,
): void {
  switch (name) {
    case "user.created":
    case "user.updated":
      view.users[data.user.id] = data.user;
      break;
    case "team.created":
      view.teams[data.team_id] = { id: data.team_id, name: data.name, members: {} };
      break;
    case "team.renamed":
      if (view.teams[data.team_id]) view.teams[data.team_id].name = data.name;
      break;
    case "team.deleted":
      delete view.teams[data.team_id];
      prune(view, viewer);
      break;
    case "team.member_set": {
      const team = (view.teams[data.team_id] ??= { id: data.team_id, name: data.team_name, members: {} });
      team.members[data.user.id] = data.role;
      view.users[data.user.id] = data.user;
      break;
    }
    case "team.member_removed": {
      const team = view.teams[data.team_id];
      if (team) delete team.members[data.user_id];
      if (data.user_id === viewer && !isAdmin(view, viewer)) delete view.teams[data.team_id];
      prune(view, viewer);
      break;
    }
    default:
      throw new UnknownEvent(name);
  }
}
