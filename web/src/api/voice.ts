// Voice call control, one function per step (docs/voice.md, "Call control").
import { api, ok } from "./client";

export type CallStep = "hold" | "resume" | "mute" | "unmute" | "hangup" | "conference";

export function callStep(step: CallStep, callId: string): Promise<unknown> {
  const p = { params: { path: { call_id: callId } } };
  switch (step) {
    case "hold":
      return ok(api.POST("/api/v1/voice/calls/{call_id}/hold", p));
    case "resume":
      return ok(api.POST("/api/v1/voice/calls/{call_id}/resume", p));
    case "mute":
      return ok(api.POST("/api/v1/voice/calls/{call_id}/mute", p));
    case "unmute":
      return ok(api.POST("/api/v1/voice/calls/{call_id}/unmute", p));
    case "hangup":
      return ok(api.POST("/api/v1/voice/calls/{call_id}/hangup", p));
    case "conference":
      return ok(api.POST("/api/v1/voice/calls/{call_id}/conference", p));
  }
}

export function sendDigits(callId: string, digits: string): Promise<unknown> {
  return ok(api.POST("/api/v1/voice/calls/{call_id}/dtmf", { params: { path: { call_id: callId } }, body: { digits } }));
}

export function recording(callId: string, action: "pause" | "resume"): Promise<unknown> {
  return ok(api.POST("/api/v1/voice/calls/{call_id}/recording", { params: { path: { call_id: callId } }, body: { action } }));
}

export type Target = { kind: "agent" | "queue"; id: string };

export function transferCall(callId: string, target: Target, note: string | null): Promise<unknown> {
  return ok(
    api.POST("/api/v1/voice/calls/{call_id}/transfer", {
      params: { path: { call_id: callId } },
      body: { target: target.kind, id: target.id, note },
    }),
  );
}

export function consultCall(callId: string, target: Target): Promise<unknown> {
  return ok(
    api.POST("/api/v1/voice/calls/{call_id}/consult", {
      params: { path: { call_id: callId } },
      body: { target: target.kind, id: target.id },
    }),
  );
}

export type MonitorMode = "listen" | "whisper" | "barge";

export function monitor(callId: string, mode: MonitorMode): Promise<unknown> {
  return ok(api.POST("/api/v1/voice/calls/{call_id}/monitor", { params: { path: { call_id: callId } }, body: { mode } }));
}

export function endMonitor(callId: string): Promise<unknown> {
  return ok(api.DELETE("/api/v1/voice/calls/{call_id}/monitor", { params: { path: { call_id: callId } } }));
}

export function consultStep(callId: string, step: "complete" | "cancel"): Promise<unknown> {
  const p = { params: { path: { call_id: callId } } };
  return step === "complete"
    ? ok(api.POST("/api/v1/voice/calls/{call_id}/consult/complete", p))
    : ok(api.POST("/api/v1/voice/calls/{call_id}/consult/cancel", p));
}
