"""`omnidesk bench realtime` at a tiny size: behaviour only (figures are reported, not tested)."""

from __future__ import annotations

from omnidesk.bench.realtime import run


def test_every_wake_up_is_a_message_sent_and_registration_shares_holds() -> None:
    result = run(40, 60, teams=4, admins=2, seed=3)
    assert result["params"] == {"sockets": 40, "events": 60, "batch": 3}
    # Only the sockets that may see an event are handed it: nothing queued is wasted.
    assert result["wakeups"] == result["messages_sent"] > 0
    assert result["messages_per_event"] < 40 / 4
    # Forty sockets registering at once: their snapshots share lock holds. Each user has a
    # view of their own (the messages section is personal, so the two admins do not share).
    assert result["register_lock_holds"] < 40
    assert result["register_views_built"] == 40
