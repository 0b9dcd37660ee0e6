"""Audio quality figures of a call's legs: packet loss, jitter and round trip (ADR 0033).

Each leg is measured where Omnidesk already knows the figures, at no cost to the media path:
- a browser phone's leg (webrtc.py) from aiortc's `getStats()`, sampled every
  `SAMPLE_EVERY_S` seconds during the call and once more at hang-up: what Omnidesk received
  from the browser (`inbound-rtp`: packets, lost, jitter), and what the browser reported in its
  RTCP receiver reports about Omnidesk's audio (`remote-inbound-rtp`: lost, jitter, and the
  round trip aiortc derives from them);
- a plain RTP leg (the customer's SIP side, an agent's SIP softphone) from the media engine's
  own receive statistics (RFC 3550 loss and interarrival jitter) at the call's end. The engine
  does not read RTCP, so these legs have no round trip and no far-end view.

The figures travel in the call's detail record (`voice.call_ended`, `audio`), so the call
history reads them from the event log like the rest of the record and they survive a restart.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from omnidesk.channels.voice.media.leg import LegStats

SAMPLE_EVERY_S = 5.0
CLOCK_PER_MS = 8.0  # G.711's RTP clock (8 kHz): jitter in timestamp units → ms
# Beyond these a leg's audio is flagged (docs/voice.md, "Audio quality"): about where G.711
# calls start to sound broken (ITU-T G.114 puts one-way delay trouble at 150 ms, so 300 ms
# round trip; G.711 without concealment is audibly damaged by a few per cent of loss).
LOSS_WARN_PCT = 3.0
JITTER_WARN_MS = 30.0
RTT_WARN_MS = 300.0

Issue = Literal["loss", "jitter", "rtt"]


class LegQuality(BaseModel):
    """One leg's figures, as the call's detail record keeps them."""

    model_config = ConfigDict(extra="forbid")

    leg: Literal["customer", "agent"]
    transport: Literal["rtp", "webrtc"]
    packets_received: int = 0  # audio packets Omnidesk received from this side
    packets_lost: int = 0  # of those this side sent, lost on the way to Omnidesk
    jitter_ms: float = 0.0  # interarrival jitter of what Omnidesk received, at the end
    jitter_max_ms: float = 0.0  # the highest sampled
    packets_sent: int | None = None  # audio packets Omnidesk sent to this side (WebRTC)
    remote_packets_lost: int | None = None  # of those, lost as this side reported (RTCP)
    remote_jitter_max_ms: float | None = None  # the highest jitter this side reported
    rtt_ms: float | None = None  # round trip from RTCP (smoothed), at the end
    rtt_max_ms: float | None = None  # the highest sampled
    samples: int = 0

    def loss_pct(self) -> float:
        """The share of packets lost, in the worse direction of the two."""
        inbound = _pct(self.packets_lost, self.packets_received + self.packets_lost)
        outbound = _pct(self.remote_packets_lost or 0, self.packets_sent or 0)
        return round(max(inbound, outbound), 2)

    def jitter_peak_ms(self) -> float:
        return round(max(self.jitter_max_ms, self.remote_jitter_max_ms or 0.0), 1)

    def issues(self) -> list[Issue]:
        """Which figures are beyond the documented thresholds."""
        found: list[Issue] = []
        if self.loss_pct() > LOSS_WARN_PCT:
            found.append("loss")
        if self.jitter_peak_ms() > JITTER_WARN_MS:
            found.append("jitter")
        if (self.rtt_max_ms or 0.0) > RTT_WARN_MS:
            found.append("rtt")
        return found


class LiveLeg(BaseModel):
    """One leg's figures while the call is up (`voice.call_quality`): loss so far, jitter and
    round trip now, and which are beyond the thresholds (by the figures so far)."""

    model_config = ConfigDict(extra="forbid")

    leg: Literal["customer", "agent"]
    transport: Literal["rtp", "webrtc"]
    loss_pct: float
    jitter_ms: float
    rtt_ms: float | None = None
    issues: list[Issue] = []

    @classmethod
    def of(cls, q: LegQuality) -> LiveLeg:
        return cls(
            leg=q.leg,
            transport=q.transport,
            loss_pct=q.loss_pct(),
            jitter_ms=q.jitter_ms,
            rtt_ms=q.rtt_ms,
            issues=q.issues(),
        )


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


def rtp_leg(leg: Literal["customer", "agent"], stats: LegStats) -> LegQuality | None:
    """A plain RTP leg's figures from the engine's receive statistics (None: it received
    nothing, so there is nothing to say)."""
    if stats.packets_received == 0:
        return None
    jitter = round(stats.jitter_ms, 1)
    return LegQuality(
        leg=leg,
        transport="rtp",
        packets_received=stats.packets_received,
        packets_lost=stats.lost,
        jitter_ms=jitter,
        jitter_max_ms=jitter,
        samples=1,
    )


_COUNTERS = ("packets_received", "packets_lost", "packets_sent", "remote_packets_lost")


class WebRtcSampler:
    """A browser leg's figures, folded from successive `getStats()` reports: counters are
    cumulative (the last report holds the call's totals), jitter and round trip are gauges
    (the last and the highest are kept)."""

    def __init__(self) -> None:
        self.figures = LegQuality(leg="agent", transport="webrtc")
        # The counters of connections this leg had before (an ICE restart replaces the peer
        # connection, whose counters start again from zero): added to the current one's.
        self._before = dict.fromkeys(_COUNTERS, 0)

    def restart(self) -> None:
        """The leg's peer connection is replaced: its counters so far are kept as a base."""
        for name in _COUNTERS:
            self._before[name] = getattr(self.figures, name) or 0

    def add(self, report: dict[str, Any]) -> None:
        f = self.figures
        b = self._before
        seen = False
        for stats in report.values():
            kind = getattr(stats, "kind", "audio")
            if kind != "audio":
                continue
            if stats.type == "inbound-rtp":
                seen = True
                f.packets_received = b["packets_received"] + int(stats.packetsReceived)
                f.packets_lost = b["packets_lost"] + max(0, int(stats.packetsLost))
                f.jitter_ms = round(stats.jitter / CLOCK_PER_MS, 1)
                f.jitter_max_ms = max(f.jitter_max_ms, f.jitter_ms)
            elif stats.type == "outbound-rtp":
                f.packets_sent = b["packets_sent"] + int(stats.packetsSent)
            elif stats.type == "remote-inbound-rtp":
                seen = True
                f.remote_packets_lost = b["remote_packets_lost"] + max(0, int(stats.packetsLost))
                jitter = round(stats.jitter / CLOCK_PER_MS, 1)
                f.remote_jitter_max_ms = max(f.remote_jitter_max_ms or 0.0, jitter)
                if stats.roundTripTime is not None:
                    f.rtt_ms = round(stats.roundTripTime * 1000.0, 1)
                    f.rtt_max_ms = max(f.rtt_max_ms or 0.0, f.rtt_ms)
        if seen:
            f.samples += 1

    def result(self) -> LegQuality | None:
        """The figures, or None if no report ever held any (the call never had audio)."""
        return self.figures.model_copy() if self.figures.samples else None
