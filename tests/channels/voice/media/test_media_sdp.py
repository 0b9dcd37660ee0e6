from __future__ import annotations

import pytest

from omnidesk.channels.voice.media.sdp import (
    MediaParams,
    NoCommonCodec,
    SdpError,
    SessionDescription,
    accept_answer,
    make_offer,
    negotiate,
)

SIPP_OFFER = (
    "v=0\r\n"
    "o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 6000 RTP/AVP 8 0 101\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
)


def _offer(body: str) -> SessionDescription:
    return SessionDescription.parse(body)


def test_parse_and_build_round_trip() -> None:
    sd = _offer(SIPP_OFFER)
    assert sd.session_id == 53655765 and sd.connection == "127.0.0.1"
    m = sd.media[0]
    assert (m.media, m.port, m.proto, m.formats) == ("audio", 6000, "RTP/AVP", ["8", "0", "101"])
    assert m.rtpmap()[101] == ("TELEPHONE-EVENT", 8000)
    again = SessionDescription.parse(sd.build())
    assert again == sd


def test_answer_takes_first_offered_supported_codec_and_echoes_dtmf() -> None:
    answer, params = negotiate(_offer(SIPP_OFFER), local_ip="127.0.0.1", local_port=20000)
    assert params == MediaParams("127.0.0.1", 6000, 8, "PCMA", 101, "sendrecv")
    text = answer.build()
    assert "m=audio 20000 RTP/AVP 8 101\r\n" in text
    assert "a=rtpmap:101 telephone-event/8000" in text and "a=sendrecv" in text
    assert "c=IN IP4 127.0.0.1" in text
    # Our preference list restricts, the offerer's order decides.
    _, only_u = negotiate(_offer(SIPP_OFFER), local_ip="h", local_port=2, codecs=("PCMU",))
    assert only_u.codec == "PCMU" and only_u.payload_type == 0


def test_static_payload_types_without_rtpmap_and_no_dtmf() -> None:
    body = (
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\n"
    )
    _, params = negotiate(_offer(body), local_ip="10.0.0.2", local_port=20002)
    assert params.codec == "PCMU" and params.dtmf_pt is None


def test_no_common_codec_is_488() -> None:
    body = SIPP_OFFER.replace("8 0 101", "9 18 101").replace("PCMA", "G722").replace("PCMU", "G729")
    body = body.replace("rtpmap:8", "rtpmap:9").replace("rtpmap:0", "rtpmap:18")
    with pytest.raises(NoCommonCodec):
        negotiate(_offer(body), local_ip="127.0.0.1", local_port=20000)


def test_video_stream_is_refused_with_port_zero() -> None:
    body = SIPP_OFFER + "m=video 6002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    body = body.replace("m=audio", "m=video 6004 RTP/AVP 97\r\nm=audio", 1)
    answer, params = negotiate(_offer(body), local_ip="127.0.0.1", local_port=20000)
    assert [(m.media, m.port) for m in answer.media] == [
        ("video", 0),
        ("audio", 20000),
        ("video", 0),
    ]
    assert params.remote_port == 6000


@pytest.mark.parametrize(
    ("offered", "ours", "sends", "receives"),
    [
        ("sendrecv", "sendrecv", True, True),
        ("sendonly", "recvonly", False, True),  # the peer holds us
        ("recvonly", "sendonly", True, False),
        ("inactive", "inactive", False, False),
    ],
)
def test_direction_answers(offered: str, ours: str, sends: bool, receives: bool) -> None:
    answer, params = negotiate(
        _offer(SIPP_OFFER + f"a={offered}\r\n"), local_ip="127.0.0.1", local_port=20000
    )
    assert params.direction == ours and f"a={ours}" in answer.build()
    assert (params.sends, params.receives) == (sends, receives)


def test_old_style_hold_with_zero_address() -> None:
    body = SIPP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0")
    _, params = negotiate(_offer(body), local_ip="127.0.0.1", local_port=20000)
    assert params.direction == "recvonly" and not params.sends
    # Resume: a new offer with the real address makes us send again.
    _, resumed = negotiate(_offer(SIPP_OFFER), local_ip="127.0.0.1", local_port=20000)
    assert resumed.sends


def test_offer_and_answer_for_outbound_legs() -> None:
    offer = make_offer(local_ip="127.0.0.1", local_port=20010)
    text = offer.build()
    assert "m=audio 20010 RTP/AVP 0 8 101\r\n" in text and "a=rtpmap:8 PCMA/8000" in text
    # The far end answers with our offer fed through negotiate, as a real peer would.
    answer, theirs = negotiate(
        SessionDescription.parse(text), local_ip="127.0.0.2", local_port=30000
    )
    assert theirs.codec == "PCMU"
    ours = accept_answer(offer, SessionDescription.parse(answer.build()))
    assert ours == MediaParams("127.0.0.2", 30000, 0, "PCMU", 101, "sendrecv")
    hold = make_offer(local_ip="127.0.0.1", local_port=20010, direction="sendonly")
    _, held = negotiate(hold, local_ip="127.0.0.2", local_port=30000)
    assert held.direction == "recvonly"


@pytest.mark.parametrize(
    "body",
    ["", "x", "v=1\r\n", "v=0\r\nm=audio x RTP/AVP 0\r\n", "v=0\r\no=short\r\n", "v=0\r\nc=IN\r\n"],
)
def test_malformed_sdp_raises(body: str) -> None:
    with pytest.raises(SdpError):
        SessionDescription.parse(body)
