"""sipp as Omnidesk's callers and test phones: the scenarios the benchmark, the end-to-end
tests, `omnidesk demo traffic` and the shipped test call (examples/voice/test-call.xml) run.

A caller INVITEs the number sipp is given (`-s`), offering PCMU and RFC 4733 telephone-events,
streams a μ-law WAV from the moment it is answered (sipp's rtp_stream sends the file's bytes as
PCMU payloads), may key digits — by RFC 4733 (one of sipp's shipped pcaps) or by SIP INFO
(`application/dtmf-relay`, docs/voice.md) — and waits for Omnidesk's BYE. Templates keep their
`{placeholders}`; `caller_scenario` fills them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

SIPP = "sipp"
SOX = "sox"
# Debian's sip-tester ships RTP pcaps of RFC 4733 key presses (dtmf_2833_<key>.pcap).
DTMF_PCAPS = Path("/usr/share/sip-tester")
DEFAULT_CALLER = "+15551230000"

# sipp's answer to a request in the dialog (Omnidesk's BYE).
OK = """  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
"""

CALLER_SCENARIO = (
    """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+15551230000@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=caller 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [rtpstream_audio_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+15551230000@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <nop><action><exec rtp_stream="{tone},-1,0"/></action></nop>
  <pause milliseconds="{before_digit_ms}"/>
  {digit}
  <recv request="BYE" timeout="{stay_ms}"/>
"""
    + OK
    + """</scenario>
"""
)

INFO_DIGIT = """<send retrans="500"><![CDATA[
INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+15551230000@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 INFO
Max-Forwards: 70
Content-Type: application/dtmf-relay
Content-Length: [len]

Signal={digit}
Duration=160
]]></send>
  <recv response="200"/>"""

PCAP_DIGIT = '<nop><action><exec play_pcap_audio="{pcaps}/dtmf_2833_{digit}.pcap"/></action></nop>'
PCAP_NAMES = {"*": "star", "#": "pound"}

# The caller's own hang-up, instead of waiting for Omnidesk's BYE: after {hangup_ms}.
CALLER_BYE = """  <pause milliseconds="{hangup_ms}"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:+15551230000@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 9 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"""

# A patient caller: waits {stay_ms} for Omnidesk's BYE, then hangs up itself (an abandon while
# queued, or the end of a long conversation). Either way the call counts as a success.
PATIENT_END = (
    '  <recv request="BYE" timeout="{stay_ms}" ontimeout="hang_up"/>\n'
    + OK.replace("<send>", '<send next="done">')
    + '  <label id="hang_up"/>\n'
) + CALLER_BYE.replace('  <pause milliseconds="{hangup_ms}"/>\n', "").replace(
    "</scenario>\n", '  <label id="done"/>\n</scenario>\n'
)


def digit_steps(digits: Sequence[str], dtmf: Literal["rfc4733", "info"], gap_ms: int) -> str:
    """Key `digits` one after the other, `gap_ms` apart. A digit may be a sipp field
    ("[field0]", from an -inf file) with INFO only (a pcap's name is fixed)."""
    steps = []
    for index, digit in enumerate(digits):
        if index:
            steps.append(f'<pause milliseconds="{gap_ms}"/>')
        if dtmf == "info":
            step = INFO_DIGIT.replace("{digit}", digit).replace("CSeq: 2", f"CSeq: {2 + index}")
        else:
            name = PCAP_NAMES.get(digit, digit)
            step = PCAP_DIGIT.replace("{pcaps}", str(DTMF_PCAPS)).replace("{digit}", name)
        steps.append(step)
    return "\n  ".join(steps)


def caller_scenario(
    tone: str | Path,
    *,
    digits: Sequence[str] = (),
    dtmf: Literal["rfc4733", "info"] = "info",
    before_digit_ms: int = 1500,
    digit_gap_ms: int = 400,
    stay_ms: int = 60000,
    caller: str = DEFAULT_CALLER,
    patient: bool = False,
    comment: str | None = None,
) -> str:
    """A caller's scenario: stream `tone` once answered, key `digits` after
    `before_digit_ms` (`digit_gap_ms` apart), wait up to `stay_ms` for Omnidesk's BYE — then
    fail (a test's caller) or, `patient`, hang up itself. `caller` is the From number (it may
    hold sipp keywords such as [call_number]); `comment` opens the file as an XML comment."""
    text = (
        CALLER_SCENARIO.replace("{tone}", str(tone))
        .replace("{before_digit_ms}", str(before_digit_ms))
        .replace("{digit}", digit_steps(digits, dtmf, gap_ms=digit_gap_ms))
    )
    if patient:
        text = text[: text.index('  <recv request="BYE"')] + PATIENT_END
    text = text.replace("{stay_ms}", str(stay_ms)).replace(DEFAULT_CALLER, caller)
    if comment:
        lines = "\n".join(f"  {line}".rstrip() for line in comment.strip().splitlines())
        text = text.replace("\n<scenario", f"\n<!--\n{lines}\n-->\n<scenario", 1)
    return text


def tone_wav(path: Path, hz: int, seconds: int = 30, *, sox: str = SOX) -> Path:
    """A μ-law WAV of a sine at `hz` for sipp's rtp_stream."""
    subprocess.run(
        [sox, "-n", "-r", "8000", "-c", "1", "-e", "u-law", str(path),
         "synth", str(seconds), "sine", str(hz), "vol", "0.3"],
        check=True,
    )  # fmt: skip
    return path


# --- the benchmark's phones ---------------------------------------------------------------------

# An agent's softphone registering with digest authentication (-au/-ap), once.
REGISTER_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500"><![CDATA[
REGISTER sip:{domain} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@{domain}>;tag=[pid]R[call_number]
To: <sip:[service]@{domain}>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
Expires: 3600
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
REGISTER sip:{domain} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@{domain}>;tag=[pid]R[call_number]
To: <sip:[service]@{domain}>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
Expires: 3600
Max-Forwards: 70
[authentication]
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"""

# Agents' phones that answer every call with PCMU (sipp's -rtp_echo sends the audio back).
ANSWER_SCENARIO = (
    """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="answer">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]A[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=agent 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <recv request="ACK"/>
  <recv request="BYE"/>
"""
    + OK
    + """</scenario>
"""
)


def register_scenario(domain: str) -> str:
    return REGISTER_SCENARIO.replace("{domain}", domain)
