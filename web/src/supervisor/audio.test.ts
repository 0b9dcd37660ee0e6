import { describe, expect, it } from "vitest";
import { audioFigures, type LegAudio, liveFigures, poorAudio } from "./audio";

function leg(over: Partial<LegAudio>): LegAudio {
  return {
    leg: "customer", transport: "rtp", loss_pct: 0, jitter_peak_ms: 2.4, rtt_ms: null, rtt_max_ms: null,
    issues: [], packets_received: 500, packets_lost: 0, jitter_ms: 2.4, packets_sent: null,
    remote_packets_lost: null, samples: 1, ...over,
  };
}

describe("an ended call's audio figures", () => {
  it("shows the agent's leg first, with the RTCP round trip only where there is one", () => {
    const agent = leg({ leg: "agent", transport: "webrtc", loss_pct: 5, jitter_peak_ms: 40.4, rtt_ms: 180, rtt_max_ms: 320.2,
                        issues: ["loss", "jitter", "rtt"] });
    const figures = audioFigures([leg({}), agent]);
    expect(figures.map((f) => f.leg)).toEqual(["agent", "customer"]);
    expect(figures[0]).toMatchObject({ loss: "5.0", jitter: "40", rtt: "320", issues: ["loss", "jitter", "rtt"] });
    expect(figures[1]).toMatchObject({ loss: "0.0", jitter: "2", rtt: null, issues: [] });
    expect(poorAudio([leg({}), agent])).toBe(true);
    expect(poorAudio([leg({})])).toBe(false);
    expect(audioFigures([])).toEqual([]);
  });
});

describe("a live call's audio figures", () => {
  it("shows jitter and round trip as they are now, the agent's leg first", () => {
    const figures = liveFigures([
      { leg: "customer", transport: "rtp", loss_pct: 0, jitter_ms: 0.4, rtt_ms: null, issues: [] },
      { leg: "agent", transport: "webrtc", loss_pct: 4.25, jitter_ms: 12.6, rtt_ms: 3.1, issues: ["loss"] },
    ]);
    expect(figures.map((f) => f.leg)).toEqual(["agent", "customer"]);
    expect(figures[0]).toMatchObject({ loss: "4.3", jitter: "13", rtt: "3", issues: ["loss"] });
    expect(figures[1]).toMatchObject({ loss: "0.0", jitter: "0", rtt: null });
  });
});
