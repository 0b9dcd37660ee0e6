"""The realtime fan-out on its own (no database): delivery through the audience index is exactly
`Principal.sees`, untouched connections are not woken, and holes left by the bus are read from
the log once per tenant, whatever the number of connections."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.events import Audience, PublishedEvent
from omnidesk.platform.realtime_fanout import Outgoing, TenantFanout

TENANT = uuid.uuid4()


class Sink:
    """A connection as the fan-out sees it: records what it is offered."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.offered: list[Outgoing] = []

    def offer(self, item: Outgoing) -> None:
        self.offered.append(item)

    @property
    def seqs(self) -> list[int]:
        return [item.seq for item in self.offered]


class FakeLog:
    def __init__(self, head: int = 0) -> None:
        self._head = head
        self.events: dict[int, PublishedEvent] = {}
        self.reads: list[tuple[int, int]] = []

    async def head(self) -> int:
        return self._head

    async def read(self, after: int, until: int) -> list[PublishedEvent]:
        self.reads.append((after, until))
        return [self.events[s] for s in range(after + 1, until + 1) if s in self.events]


def event(seq: int, audience: Audience) -> PublishedEvent:
    return PublishedEvent(
        tenant_id=TENANT,
        seq=seq,
        type="test.happened",
        version=1,
        occurred_at=datetime(2026, 11, 23, tzinfo=UTC),
        actor_id=None,
        subject_type="test",
        subject_id=str(seq),
        payload={"n": seq},
        audience=audience,
    )


def principal(role: Role, user: uuid.UUID, supervised=(), member=()) -> Principal:  # type: ignore[no-untyped-def]
    return Principal(
        tenant_id=TENANT,
        user_id=user,
        username=str(user)[:8],
        role=role,
        supervised_teams=frozenset(supervised),
        member_teams=frozenset(member),
    )


def may_receive(sink: Sink, audience: Audience) -> bool:
    return sink.principal.sees(audience) or sink.principal.user_id in audience.scope_change_for


async def started(log: FakeLog, sinks: list[Sink]) -> TenantFanout:
    fanout = TenantFanout(TENANT, log)
    for sink in sinks:
        fanout.add(sink)
    await fanout.ready()
    return fanout


async def test_index_delivery_is_exactly_principal_sees() -> None:
    rng = random.Random(19)
    users = [uuid.uuid4() for _ in range(25)]
    teams = [uuid.uuid4() for _ in range(6)]

    def some(pool: list[uuid.UUID], most: int) -> list[uuid.UUID]:
        return rng.sample(pool, rng.randint(0, most))

    sinks = []
    for _ in range(80):
        # Any role with any teams: an agent may carry supervised teams it does not supervise
        # (sees checks the role); several sockets of one user; users nobody addresses.
        role = rng.choice([Role.ADMIN, Role.SUPERVISOR, Role.SUPERVISOR, Role.AGENT, Role.AGENT])
        sinks.append(Sink(principal(role, rng.choice(users), some(teams, 3), some(teams, 2))))
    fanout = await started(FakeLog(), sinks)
    strangers = [uuid.uuid4() for _ in range(5)]
    audiences = []
    for seq in range(1, 401):
        audience = Audience.of(
            users=some(users + strangers, 3),
            teams=some(teams + strangers, 2),
            scope_change_for=some(users, 1) if rng.random() < 0.2 else [],
        )
        audiences.append(audience)
        fanout.publish(event(seq, audience))
    for sink in sinks:
        expected = [s for s, a in enumerate(audiences, start=1) if may_receive(sink, a)]
        assert sink.seqs == expected, sink.principal
    assert fanout.head == 400


async def test_a_team_event_touches_only_its_viewers() -> None:
    support, billing = uuid.uuid4(), uuid.uuid4()
    anna, bert, sue, sam, admin = (uuid.uuid4() for _ in range(5))
    viewers = {
        "admin": Sink(principal(Role.ADMIN, admin)),
        "support supervisor": Sink(principal(Role.SUPERVISOR, sue, [support], [support])),
        "anna": Sink(principal(Role.AGENT, anna, member=[support])),
        "anna's 2nd tab": Sink(principal(Role.AGENT, anna, member=[support])),
        "bert": Sink(principal(Role.AGENT, bert, member=[support])),
        "billing supervisor": Sink(principal(Role.SUPERVISOR, sam, [billing], [billing])),
        "agent marked supervisor": Sink(principal(Role.AGENT, uuid.uuid4(), [support])),
    }
    fanout = await started(FakeLog(), list(viewers.values()))
    fanout.publish(event(1, Audience.of(users=[anna], teams=[support])))
    reached = {name for name, sink in viewers.items() if sink.offered}
    assert reached == {"admin", "support supervisor", "anna", "anna's 2nd tab"}
    # One serialisation for all of them: the same object, hence the same text.
    items = {id(sink.offered[0]) for sink in viewers.values() if sink.offered}
    assert len(items) == 1


async def test_an_event_for_everyone_reaches_every_connection() -> None:
    team = uuid.uuid4()
    sinks = [
        Sink(principal(Role.ADMIN, uuid.uuid4())),
        Sink(principal(Role.SUPERVISOR, uuid.uuid4(), [team], [team])),
        Sink(principal(Role.AGENT, uuid.uuid4())),
    ]
    fanout = await started(FakeLog(), sinks)
    everyone = Audience(everyone=True)
    fanout.publish(event(1, everyone))
    assert [sink.seqs for sink in sinks] == [[1], [1], [1]]
    # As the log stores it and reads it back (older rows, without the key, stay addressed).
    assert Audience.from_json(everyone.to_json()) == everyone
    assert "everyone" not in Audience.of().to_json()


async def test_holes_are_read_from_the_log_once_per_tenant() -> None:
    log = FakeLog(head=10)
    everyone = Audience.of()
    for seq in range(11, 31):
        log.events[seq] = event(seq, everyone)
    admins = [Sink(principal(Role.ADMIN, uuid.uuid4())) for _ in range(50)]
    fanout = await started(log, admins)
    # The bus delivers 11, then 14 and 13 (12 is late), then 12, then 15 and, after a hole of
    # 16..19, 20.
    for seq in (11, 14, 13):
        fanout.publish(log.events[seq])
    assert fanout._filler is not None
    await fanout._filler  # the one read of the hole (12)
    for seq in (12, 15, 20):
        fanout.publish(log.events[seq])
    await fanout._filler
    fanout.publish(log.events[19])  # late: already read from the log and sent
    for sink in admins:
        assert sink.seqs == list(range(11, 21))
    assert log.reads == [(11, 12), (15, 19)]  # once per hole, not once per connection
    assert fanout.log_reads == 2


async def test_events_before_the_head_is_known_wait_for_it() -> None:
    log = FakeLog(head=5)
    for seq in range(1, 9):
        log.events[seq] = event(seq, Audience.of())
    sink = Sink(principal(Role.ADMIN, uuid.uuid4()))
    fanout = TenantFanout(TENANT, log)
    fanout.add(sink)
    # Published while the head is being read: at or below it they are covered by whatever the
    # connection reads next (snapshot or replay); above it they go out, in order.
    for seq in (7, 4, 6):
        fanout.publish(log.events[seq])
    await fanout.ready()
    assert sink.seqs == [6, 7]
    assert log.reads == []


async def test_recent_events_replay_only_when_all_are_kept() -> None:
    log = FakeLog(head=100)
    fanout = TenantFanout(TENANT, log, recent=3)
    await fanout.ready()
    for seq in range(101, 106):
        fanout.publish(event(seq, Audience.of()))
    assert [o.seq for o in fanout.recent_after(102) or []] == [103, 104, 105]
    assert fanout.recent_after(105) == []
    assert fanout.recent_after(101) is None  # 102 is no longer kept: the log replays
    assert fanout.recent_after(106) is None  # not known yet


async def test_a_removed_or_reindexed_connection_follows_its_principal() -> None:
    team = uuid.uuid4()
    user = uuid.uuid4()
    sink = Sink(principal(Role.SUPERVISOR, user))
    fanout = await started(FakeLog(), [sink])
    fanout.publish(event(1, Audience.of(teams=[team])))
    assert sink.seqs == []
    fanout.remove(sink)
    sink.principal = principal(Role.SUPERVISOR, user, [team])
    fanout.add(sink)
    fanout.publish(event(2, Audience.of(teams=[team])))
    fanout.remove(sink)
    fanout.publish(event(3, Audience.of(teams=[team])))
    assert sink.seqs == [2]
    assert len(fanout) == 0


async def test_events_the_log_does_not_have_are_skipped_not_waited_for() -> None:
    log = FakeLog(head=10)
    for seq in (13, 14, 16):  # 11, 12 and 15 are missing from the log
        log.events[seq] = event(seq, Audience.of())
    sink = Sink(principal(Role.ADMIN, uuid.uuid4()))
    fanout = await started(log, [sink])
    fanout.publish(log.events[16])
    assert fanout._filler is not None
    await fanout._filler
    assert sink.seqs == [13, 14, 16]
    assert fanout.head == 16
    assert fanout.recent_after(12) is None  # not contiguous: a resume reads the log


class FailingSink(Sink):
    failed = False

    def fail(self) -> None:
        self.failed = True


async def test_a_hole_that_cannot_be_read_closes_the_tenants_connections() -> None:
    class BrokenLog(FakeLog):
        async def read(self, after: int, until: int) -> list[PublishedEvent]:
            raise OSError("database gone")

    sinks = [FailingSink(principal(Role.ADMIN, uuid.uuid4())) for _ in range(3)]
    fanout = await started(BrokenLog(), list(sinks))
    fanout.publish(event(2, Audience.of()))
    assert fanout._filler is not None
    await fanout._filler
    assert all(s.failed for s in sinks)
    assert len(fanout) == 0 and fanout.head is None  # the next one to attach reads it afresh
