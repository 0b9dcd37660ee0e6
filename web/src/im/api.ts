// Team messages over HTTP (docs/agent-guide.md, "Messages"); live changes come on the socket.
import { api, ok, type Schemas } from "../api/client";
import type { ImMessage } from "../realtime/types";

export type Contacts = Schemas["Contacts"];
export type Posted = Schemas["Posted"];

/** Where a message goes: a thread, a user, a team, or (supervisors) everyone. */
export type Target =
  | { thread: string }
  | { user: string }
  | { team: string }
  | { everyone: true };

export function readPage(threadId: string, before: number | null): Promise<ImMessage[]> {
  return ok(
    api.GET("/api/v1/im/threads/{thread_id}/messages", {
      params: { path: { thread_id: threadId }, query: before === null ? {} : { before } },
    }),
  );
}

export function post(target: Target, body: string, broadcast = false): Promise<Posted> {
  const to = {
    thread_id: "thread" in target ? target.thread : null,
    user_id: "user" in target ? target.user : null,
    team_id: "team" in target ? target.team : null,
    everyone: "everyone" in target,
  };
  return ok(api.POST("/api/v1/im/messages", { body: { ...to, body, broadcast } }));
}

export function markRead(threadId: string, upTo: number): Promise<unknown> {
  return ok(api.POST("/api/v1/im/threads/{thread_id}/read", { params: { path: { thread_id: threadId } }, body: { up_to: upTo } }));
}

export function contacts(): Promise<Contacts> {
  return ok(api.GET("/api/v1/im/contacts"));
}

export function raiseHand(note: string | null): Promise<unknown> {
  return ok(api.POST("/api/v1/im/hand", { body: { note } }));
}

export function lowerHand(userId: string): Promise<unknown> {
  return ok(api.DELETE("/api/v1/im/hands/{user_id}", { params: { path: { user_id: userId } } }));
}
