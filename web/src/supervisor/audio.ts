// An ended call's audio quality as the supervisor reads it (docs/voice.md, "Audio quality"):
// per leg "loss x %, jitter y ms, RTT z ms", flagged when the server found a figure beyond its
// threshold (loss > 3 %, jitter > 30 ms, RTT > 300 ms; the server decides, the screen shows).
import type { Schemas } from "../api/client";
import type { LiveLeg } from "../realtime/types";

export type LegAudio = Schemas["AudioQualityOut"];

export interface AudioFigures {
  leg: LegAudio["leg"];
  transport: LegAudio["transport"];
  loss: string; // per cent, one decimal
  jitter: string; // ms, whole
  rtt: string | null; // ms, whole; null: the leg has no RTCP (a SIP leg)
  issues: LegAudio["issues"];
}

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

/** The figures to show for each leg, the agent's first (the network a supervisor can act on). */
export function audioFigures(audio: LegAudio[]): AudioFigures[] {
  return [...audio]
    .sort((a, b) => (a.leg === b.leg ? 0 : a.leg === "agent" ? -1 : 1))
    .map((q) => ({
      leg: q.leg,
      transport: q.transport,
      loss: fixed(q.loss_pct, 1),
      jitter: fixed(q.jitter_peak_ms, 0),
      rtt: q.rtt_max_ms === null ? null : fixed(q.rtt_max_ms, 0),
      issues: q.issues,
    }));
}

/** A live call's figures (`voice.call_quality`): loss so far, jitter and round trip now. */
export function liveFigures(live: LiveLeg[]): AudioFigures[] {
  return [...live]
    .sort((a, b) => (a.leg === b.leg ? 0 : a.leg === "agent" ? -1 : 1))
    .map((q) => ({
      leg: q.leg,
      transport: q.transport,
      loss: fixed(q.loss_pct, 1),
      jitter: fixed(q.jitter_ms, 0),
      rtt: q.rtt_ms === null ? null : fixed(q.rtt_ms, 0),
      issues: q.issues,
    }));
}

/** Whether any leg of the call was beyond a threshold. */
export function poorAudio(audio: LegAudio[]): boolean {
  return audio.some((q) => q.issues.length > 0);
}
