"""The files docs/getting-started.md ships and includes: the test call's sipp scenario is what
omnidesk.bench.sipp builds (one scenario format for the tests, the benchmark, the demo traffic
and the guide), and the guide shows each shipped file as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnidesk.bench.sipp import caller_scenario

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "getting-started.md"
TEST_CALL_XML = ROOT / "examples" / "voice" / "test-call.xml"
BARESIP = ROOT / "examples" / "voice" / "baresip"

# The shipped test call: a 600 Hz caller who keys 1 (RFC 4733) into the demo menu after its
# greeting, and hangs up after a minute unless Omnidesk (the agent) hangs up first.
TEST_CALL: dict[str, Any] = {
    "tone": "caller-600hz.wav",
    "digits": ["1"],
    "dtmf": "rfc4733",
    "before_digit_ms": 6000,
    "stay_ms": 60000,
    "patient": True,
    "comment": """\
Omnidesk's test call (docs/getting-started.md): a caller on this machine dials the number
given with -s, streams caller-600hz.wav (a 600 Hz tone, made with sox; run sipp where it
is), keys 1 by RFC 4733 after 6 s (support, in the demo's menu) and waits for an agent. It
hangs up after a minute, unless Omnidesk hangs up first (the agent did).

  sox -n -r 8000 -c 1 -e u-law caller-600hz.wav synth 120 sine 600 vol 0.3
  sipp 127.0.0.1:5060 -sf test-call.xml -s 12025550100 -m 1 -i 127.0.0.1 -p 5070

The key press is one of the RTP recordings Debian's sip-tester package ships.""",
}


def test_the_shipped_test_call_is_the_builders() -> None:
    assert TEST_CALL_XML.read_text() == caller_scenario(**TEST_CALL), (
        "examples/voice/test-call.xml differs from omnidesk.bench.sipp.caller_scenario("
        "**TEST_CALL): write it again from TEST_CALL"
    )


def test_the_guide_shows_the_shipped_files_as_they_are() -> None:
    guide = GUIDE.read_text()
    for path in (BARESIP / "config", BARESIP / "accounts"):
        assert path.read_text().strip() in guide, f"{path.name} is not in the guide as shipped"
