"""Tenant branding on both databases: name and accent colour on a version (a stale save is 409,
a colour white text is unreadable on is 422 with the measured ratio), the logo told by its bytes
(PNG taken and served with its type, nosniff and a validator; SVG, a text file named .png and a
file over 256 KB refused), admins only write, every user of the tenant reads and is told of a
change live, and one tenant never sees or changes another's."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest

from omnidesk.branding.contrast import contrast_with_white
from omnidesk.branding.images import looks_like_svg, sniff_image
from spine_checks import assert_problem, audit_entries, event_cursor

BRANDING = "/api/v1/branding"
LOGO = f"{BRANDING}/logo"


def png(color: tuple[int, int, int] = (11, 92, 173), size: int = 4) -> bytes:
    """A real PNG of one colour (so a browser would draw it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(color) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def upload(admin: Any, data: bytes, version: int, kind: str = "image/png") -> Any:
    return admin.put(
        LOGO, params={"version": version}, content=data, headers={"content-type": kind}
    )


def test_the_sniffers_and_the_contrast() -> None:
    assert sniff_image(png()) == "image/png"
    assert sniff_image(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image(SVG) is None and looks_like_svg(SVG)
    assert sniff_image(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    # WCAG's own reference points: white on white 1:1, black 21:1, #767676 is the AA threshold.
    assert contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)


def test_admin_sets_name_and_colour_on_a_version(tenants, as_user) -> None:
    admin, agent = as_user("admin"), as_user("agent1")
    first = ok(agent.get(BRANDING))
    assert first["display_name"] == ok(admin.get(BRANDING))["display_name"] != ""
    assert first["display_name_set"] is False and first["accent_color"] is None
    assert first["logo"] is None and first["version"] == 1
    cursor = event_cursor(admin)

    with agent.websocket() as ws:
        ws.send_json({"type": "register", "last_event_id": cursor})
        body = {"display_name": "  Acme Care ", "accent_color": "#1A4D2E", "version": 1}
        saved = ok(admin.put(BRANDING, json=body))
        assert saved["display_name"] == "Acme Care" and saved["display_name_set"] is True
        assert saved["accent_color"] == "#1a4d2e" and saved["version"] == 2
        # The agent's open desk is told without reloading (the event reaches every user).
        event = ws.receive_json()
        assert event["event"] == "branding.updated", event
        assert event["data"]["branding"]["display_name"] == "Acme Care"
        assert event["data"]["changed"] == ["accent_color", "display_name"]
    assert ok(agent.get(BRANDING)) == saved

    # A save made on the old version is refused, naming the current one; nothing changes.
    stale = {"display_name": "Other", "accent_color": None, "version": 1}
    problem = assert_problem(admin.put(BRANDING, json=stale), 409, "changed by someone else")
    assert problem["code"] == "version_conflict" and problem["version"] == 2
    assert ok(agent.get(BRANDING)) == saved

    # A colour white text cannot be read on: 422 on the field, with the measured ratio.
    pale = {"display_name": "Acme Care", "accent_color": "#ffcc00", "version": 2}
    problem = assert_problem(admin.put(BRANDING, json=pale), 422, "1.5", "4.5:1")
    assert problem["field"] == "accent_color" and problem["contrast_ratio"] == 1.51
    bad = {"display_name": "Acme", "accent_color": "blue", "version": 2}
    assert admin.put(BRANDING, json=bad).status_code == 422

    # null name: back to the tenant's own.
    reset = ok(admin.put(BRANDING, json={"display_name": None, "accent_color": None, "version": 2}))
    assert reset["display_name"] == first["display_name"] and reset["version"] == 3
    actions = [e["action"] for e in audit_entries(admin) if e["action"].startswith("branding")]
    assert actions == ["branding.set", "branding.set"]


def test_logo_upload_is_told_by_its_bytes(tenants, as_user) -> None:
    admin, agent = as_user("admin"), as_user("agent1")
    image = png()
    saved = ok(upload(admin, image, 1, kind="application/octet-stream"))
    assert saved["logo"]["content_type"] == "image/png" and saved["logo"]["size"] == len(image)
    assert saved["version"] == 2

    served = agent.get(saved["logo"]["url"])
    assert served.status_code == 200 and served.content == image
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    etag = served.headers["etag"]
    again = agent.get(LOGO, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""

    # SVG (whatever it is called), text named .png, too big: refused with the reason, on `logo`.
    for data, kind, status, reason in (
        (SVG, "image/svg+xml", 415, "SVG"),
        (SVG, "image/png", 415, "SVG"),
        (b"just some text, saved as logo.png", "image/png", 415, "not an image"),
        (image + b"\x00" * (256 * 1024), "image/png", 413, "256 KB"),
    ):
        problem = assert_problem(upload(admin, data, 2, kind), status, reason)
        assert problem["field"] == "logo", problem
    assert agent.get(LOGO).content == image

    # Not an admin: no writes, whatever the version.
    for who in ("agent1", "supervisor"):
        caller = as_user(who)
        assert_problem(upload(caller, png((0, 0, 0)), 2), 403, "admin")
        body = {"display_name": "Mine", "accent_color": None, "version": 2}
        assert_problem(caller.put(BRANDING, json=body), 403, "admin")
        assert_problem(caller.delete(LOGO, params={"version": 2}), 403, "admin")

    assert_problem(admin.delete(LOGO, params={"version": 1}), 409, "changed by someone else")
    removed = ok(admin.delete(LOGO, params={"version": 2}))
    assert removed["logo"] is None and removed["version"] == 3
    assert_problem(agent.get(LOGO), 404, "no logo")
    actions = [e["action"] for e in audit_entries(admin) if e["action"].startswith("branding")]
    assert actions == ["branding.logo.remove", "branding.logo.set"]


def test_a_tenant_never_sees_or_changes_anothers_branding(tenants, as_user) -> None:
    admin_a, admin_b = as_user("admin"), as_user("admin", tenant="other")
    agent_b = as_user("agent1", tenant="other")
    ok(
        admin_a.put(
            BRANDING, json={"display_name": "Tenant A", "accent_color": "#5a1a6e", "version": 1}
        )
    )
    ok(upload(admin_a, png((90, 26, 110)), 2))
    cursor_b = event_cursor(admin_b)

    view_b = ok(agent_b.get(BRANDING))
    assert view_b["display_name"] != "Tenant A" and view_b["accent_color"] is None
    assert view_b["logo"] is None and view_b["version"] == 1
    assert_problem(agent_b.get(LOGO), 404, "no logo")
    # B's first save starts B's own row at B's version 1, not A's (now 3).
    ok(upload(admin_b, png((0, 0, 0)), 1))
    assert agent_b.get(LOGO).content == png((0, 0, 0))
    assert as_user("agent1").get(LOGO).content == png((90, 26, 110))
    assert ok(admin_a.get(BRANDING))["display_name"] == "Tenant A"
    # A's change was never told to B.
    events = admin_b.get("/api/v1/events", params={"after": cursor_b}).json()["events"]
    assert [e["event"] for e in events] == ["branding.updated"]
    assert "Tenant A" not in str(events)
