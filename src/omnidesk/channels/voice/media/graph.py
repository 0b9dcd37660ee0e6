"""The mix graph: who hears whom, as a sparse listeners x sources gain matrix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse

from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.players import Player

Source = Leg | Player


class MixGraph:
    """Edges listener <- source with a gain; players take source columns after all leg slots."""

    _legs: list[Leg | None]

    def __init__(self) -> None:
        self._edges: dict[tuple[Leg, Source], float] = {}
        self._players: dict[Player, int] = {}
        self._free_players: list[int] = []
        self._gain: sparse.csr_matrix | None = None
        self._dirty = True

    def connect(self, listener: Leg, source: Source, gain: float = 1.0) -> None:
        if listener is source:
            raise ValueError("a leg never hears itself")
        if isinstance(source, Player) and source not in self._players:
            self._players[source] = (
                self._free_players.pop() if self._free_players else len(self._players)
            )
        self._edges[(listener, source)] = gain
        self._dirty = True

    def disconnect(self, listener: Leg, source: Source) -> None:
        if self._edges.pop((listener, source), None) is not None:
            self._drop_unused_players()
            self._dirty = True

    def sources_of(self, listener: Leg) -> list[Source]:
        return [s for (lst, s) in self._edges if lst is listener]

    def bridge(self, a: Leg, b: Leg) -> None:
        self.connect(a, b)
        self.connect(b, a)

    def conference(self, legs: Sequence[Leg]) -> None:
        for a in legs:
            for b in legs:
                if a is not b:
                    self.connect(a, b)

    def isolate(self, leg: Leg) -> list[tuple[Leg, Source, float]]:
        """Remove every edge into or out of `leg`; returns them (to restore later)."""
        removed = [(lst, s, g) for (lst, s), g in self._edges.items() if leg in (lst, s)]
        for lst, s, _ in removed:
            del self._edges[(lst, s)]
        self._drop_unused_players()
        self._dirty = True
        return removed

    def hold(self, leg: Leg, music: Player | None) -> list[tuple[Leg, Source, float]]:
        """`leg` hears `music` (or nothing) and nobody hears `leg`; returns what to resume."""
        removed = self.isolate(leg)
        if music is not None:
            self.connect(leg, music)
        return removed

    def resume(self, leg: Leg, restore: Iterable[tuple[Leg, Source, float]]) -> None:
        for p in [s for s in self.sources_of(leg) if isinstance(s, Player)]:
            self.disconnect(leg, p)
        for lst, s, g in restore:
            if lst.slot is not None and (not isinstance(s, Leg) or s.slot is not None):
                self.connect(lst, s, g)

    def monitor(self, supervisor: Leg, caller: Leg, agent: Leg, mode: str) -> None:
        """listen: supervisor hears both; whisper: + agent hears supervisor; barge: all hear all."""
        if mode not in ("listen", "whisper", "barge"):
            raise ValueError(f"unknown monitor mode {mode!r}")
        for lst, s in [(supervisor, caller), (supervisor, agent), (agent, supervisor)]:
            self._edges.pop((lst, s), None)
        self._edges.pop((caller, supervisor), None)
        self.connect(supervisor, caller)
        self.connect(supervisor, agent)
        if mode in ("whisper", "barge"):
            self.connect(agent, supervisor)
        if mode == "barge":
            self.connect(caller, supervisor)
        self._dirty = True

    def _drop_unused_players(self) -> None:
        used = {s for (_, s) in self._edges if isinstance(s, Player)}
        for p in [p for p in self._players if p not in used]:
            self._free_players.append(self._players.pop(p))

    def _build_gain(self) -> None:
        n_legs = len(self._legs)
        n_src = n_legs + (max(self._players.values()) + 1 if self._players else 0)
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for (lst, src), g in self._edges.items():
            if lst.slot is None:
                continue
            if isinstance(src, Leg):
                if src.slot is None:
                    continue
                col = src.slot
            else:
                col = n_legs + self._players[src]
            rows.append(lst.slot)
            cols.append(col)
            vals.append(g)
        self._gain = sparse.csr_matrix(
            (np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(n_legs, n_src)
        )
        self._dirty = False
