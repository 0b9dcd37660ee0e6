"""Who hears of an interaction: its agents and their teams' supervisors, each row its own
(the projection loads every agent's teams of a batch at once and must not mix them up)."""

from __future__ import annotations

import uuid

from omnidesk.crm.audiences import Audiences


def test_each_row_reaches_its_own_agents_teams_only() -> None:
    ann, bob, solo = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    sales, support, nights = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    who = Audiences({ann: {sales, nights}, bob: {support}})

    one = who.of_users([str(ann)])
    assert one.users == frozenset({ann}) and one.teams == frozenset({sales, nights})

    both = who.of_users([ann, str(bob), None, "routing-only-agent"])
    assert both.users == frozenset({ann, bob})
    assert both.teams == frozenset({sales, nights, support})

    alone = who.of_users([solo])
    assert alone.users == frozenset({solo}) and alone.teams == frozenset()
