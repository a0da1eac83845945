"""The event-driven core: one station's event loop, arrival streams and the replication driver.

Each station runs its own loop over its events in time order: the next arrival (from a pre-generated
sorted array), the earliest swap end (a heap of busy bays' end times), the earliest charge end (a
FIFO queue: every charge lasts the same time and charges start in time order), the earliest renege (the
head of the battery queue: every driver has the same patience), the next delivery of packs and the
next charging-period boundary. Without rebalancing the stations are independent given their arrivals,
so each runs to the end of the horizon in one call; with transfers the driver advances the source
station to each departure time, takes the packs and posts their arrival at the target, whose loop has
not passed that time yet.

Drivers are served in arrival order. A driver takes a charged pack at arrival when one is free (not
promised to an earlier driver), else waits for one up to the patience (0: leaves at once) and is lost
when none comes in time; with a pack promised, the driver waits for the first free bay. A swap frees
the bay and returns the car's depleted pack, which waits for a charger.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["ArrivalSource", "StationRecords", "poisson_arrivals", "run_replication"]

FloatArray = NDArray[np.float64]
INF = math.inf


@dataclass(frozen=True)
class ArrivalSource:
    """A Poisson stream of swap requests feeding one station.

    Attributes
    ----------
    station
        Index of the station the requests go to.
    rates
        ``(24,)`` requests per hour in each hour of day at the origin.
    travel_h
        Travel time from the origin to the station, hours.
    key
        Index of the stream (stable across scenarios so that they share random numbers).
    """

    station: int
    rates: FloatArray
    travel_h: float
    key: int


def poisson_arrivals(rng: np.random.Generator, rates: FloatArray, days: int) -> FloatArray:
    """Sorted arrival times (hours from the start) of a Poisson process with hourly piecewise-constant rates.

    The count in each hour is Poisson with mean ``rates[hour of day]`` and, given the count, the times
    are independent and uniform within the hour.
    """
    counts = rng.poisson(np.tile(rates, days))
    total = int(counts.sum())
    t = np.repeat(np.arange(24 * days, dtype=np.float64), counts) + rng.random(total)
    t.sort()
    return t


@dataclass
class StationRecords:
    """What one station's loop records (times in hours)."""

    served_idx: list[int] = field(default_factory=list)
    served_start: list[float] = field(default_factory=list)
    lost_idx: list[int] = field(default_factory=list)
    charge_start: list[float] = field(default_factory=list)
    transfer_time: list[float] = field(default_factory=list)
    transfer_charged: list[int] = field(default_factory=list)
    transfer_depleted: list[int] = field(default_factory=list)


class StationSim:
    """The state and event loop of one station in one replication."""

    def __init__(
        self,
        arrivals: FloatArray,
        durations: FloatArray,
        *,
        bays: int,
        batteries: int,
        charged: int,
        parallel: int,
        charge_h: float,
        patience_h: float,
        caps: Sequence[int] | None,
        period_h: float,
        reserve: int,
    ) -> None:
        self.arrivals = arrivals
        self.arr: list[float] = arrivals.tolist()
        self.dur: list[float] = durations.tolist()
        self.n = len(self.arr)
        self.i = 0
        self.bays = bays
        self.batteries = batteries
        self.parallel = parallel
        self.charge_h = charge_h
        self.patience_h = patience_h
        self.avail = charged
        self.dep = batteries - charged
        self.waitq: deque[int] = deque()
        self.bayq: deque[int] = deque()
        self.swaps: list[float] = []
        self.charges: deque[float] = deque()
        self.incoming: list[tuple[float, int, int, int]] = []
        self._seq = 0
        if caps is None:
            self.caps: list[int] = [parallel]
            self.tp = INF
        else:
            self.caps = [min(parallel, int(c)) for c in caps]
            self.tp = period_h
        self.period_h = period_h
        self.pidx = 0
        self.cap = self.caps[0]
        self.reserve = reserve
        self.rec = StationRecords()
        self.time = 0.0
        # packs depleted at time 0 start charging at once when the policy allows
        self._start_charges(0.0)

    def _start_charges(self, t: float) -> None:
        charges = self.charges
        while self.dep:
            nch = len(charges)
            if nch >= self.parallel or (nch >= self.cap and self.avail + nch >= self.reserve):
                break
            self.dep -= 1
            charges.append(t + self.charge_h)
            self.rec.charge_start.append(t)

    # ----------------------------------------------------------- transfers
    def take(self, t: float, kind: int, n: int) -> int:
        """Remove up to ``n`` charged (``kind`` 0) or depleted (1) packs at time ``t``; return how many."""
        rec = self.rec
        if kind == 0:
            m = min(n, self.avail)
            self.avail -= m
            rec.transfer_charged.append(-m)
            rec.transfer_depleted.append(0)
        else:
            m = min(n, self.dep)
            self.dep -= m
            rec.transfer_charged.append(0)
            rec.transfer_depleted.append(-m)
        rec.transfer_time.append(t)
        return m

    def give(self, t: float, kind: int, m: int) -> None:
        """Post the arrival of ``m`` packs of ``kind`` at time ``t``."""
        if m > 0:
            self._seq += 1
            heapq.heappush(self.incoming, (t, self._seq, kind, m))

    def in_transit(self) -> int:
        """Packs posted to arrive here and not yet delivered."""
        return sum(x[3] for x in self.incoming)

    def inventory(self) -> dict[str, int]:
        """Where this station's packs are now (charged free, promised, in a swap, depleted, charging, arriving)."""
        return {
            "charged": self.avail,
            "promised": len(self.bayq),
            "swapping": len(self.swaps),
            "depleted": self.dep,
            "charging": len(self.charges),
            "arriving": self.in_transit(),
        }

    # ------------------------------------------------------------ the loop
    def advance(self, T: float, drain: bool = False) -> None:
        """Process every event before time ``T``; with ``drain``, go on until no driver is left waiting."""
        arr = self.arr
        dur = self.dur
        n = self.n
        i = self.i
        c = self.bays
        K = self.parallel
        dch = self.charge_h
        pat = self.patience_h
        avail = self.avail
        dep = self.dep
        waitq = self.waitq
        bayq = self.bayq
        swaps = self.swaps
        charges = self.charges
        incoming = self.incoming
        caps = self.caps
        ncaps = len(caps)
        cap = self.cap
        tp = self.tp
        pidx = self.pidx
        period_h = self.period_h
        reserve = self.reserve
        rec = self.rec
        served_idx = rec.served_idx.append
        served_start = rec.served_start.append
        lost = rec.lost_idx.append
        cstart = rec.charge_start.append
        push = heapq.heappush
        pop = heapq.heappop
        na = arr[i] if i < n else INF
        t = self.time
        while True:
            t = na
            ts = swaps[0] if swaps else INF
            if ts < t:
                t = ts
            tc = charges[0] if charges else INF
            if tc < t:
                t = tc
            tw = arr[waitq[0]] + pat if waitq else INF
            if tw < t:
                t = tw
            tin = incoming[0][0] if incoming else INF
            if tin < t:
                t = tin
            if tp < t:
                t = tp
            if t >= T and (not drain or t == INF or not (waitq or bayq)):
                break
            if t == tc:
                # a pack finished charging: to the first waiting driver, else to the shelf
                charges.popleft()
                if waitq:
                    k = waitq.popleft()
                    if len(swaps) < c:
                        push(swaps, t + dur[k])
                        served_idx(k)
                        served_start(t)
                    else:
                        bayq.append(k)
                else:
                    avail += 1
            elif t == ts:
                # a swap ended: the bay is free and the car's depleted pack waits for a charger
                pop(swaps)
                dep += 1
                if bayq:
                    k = bayq.popleft()
                    push(swaps, t + dur[k])
                    served_idx(k)
                    served_start(t)
            elif t == na:
                k = i
                i += 1
                na = arr[i] if i < n else INF
                if avail:
                    avail -= 1
                    if len(swaps) < c:
                        push(swaps, t + dur[k])
                        served_idx(k)
                        served_start(t)
                    else:
                        bayq.append(k)
                elif pat > 0.0:
                    waitq.append(k)
                else:
                    lost(k)
            elif t == tw:
                lost(waitq.popleft())
            elif t == tin:
                _, _, kind, m = pop(incoming)
                if kind == 0:
                    for _ in range(m):
                        if waitq:
                            k = waitq.popleft()
                            if len(swaps) < c:
                                push(swaps, t + dur[k])
                                served_idx(k)
                                served_start(t)
                            else:
                                bayq.append(k)
                        else:
                            avail += 1
                    rec.transfer_charged.append(m)
                    rec.transfer_depleted.append(0)
                else:
                    dep += m
                    rec.transfer_charged.append(0)
                    rec.transfer_depleted.append(m)
                rec.transfer_time.append(t)
            else:
                # a new charging period
                pidx += 1
                cap = caps[pidx % ncaps]
                tp = (pidx + 1) * period_h
            # After any event, start charging depleted packs while a slot is free and the period's
            # cap (or the reserve rule) allows. Events that cannot enable a start leave this a no-op.
            while dep:
                nch = len(charges)
                if nch >= K or (nch >= cap and avail + nch >= reserve):
                    break
                dep -= 1
                charges.append(t + dch)
                cstart(t)
        self.i = i
        self.avail = avail
        self.dep = dep
        self.cap = cap
        self.tp = tp
        self.pidx = pidx
        self.time = min(t, T)


@dataclass(frozen=True)
class TransferEvent:
    """One departure of packs in absolute time (hours), between station indices."""

    time_h: float
    source: int
    target: int
    batteries: int
    kind: int
    travel_h: float


def run_replication(sims: Sequence[StationSim], transfers: Sequence[TransferEvent], horizon_h: float) -> list[int]:
    """Run every station to the horizon, executing ``transfers`` (sorted by time) on the way.

    Returns the packs actually moved by each transfer (fewer than planned when the source ran short).
    """
    moved: list[int] = []
    for tr in transfers:
        if tr.time_h >= horizon_h:
            moved.append(0)
            continue
        src = sims[tr.source]
        src.advance(tr.time_h)
        m = src.take(tr.time_h, tr.kind, tr.batteries)
        sims[tr.target].give(tr.time_h + tr.travel_h, tr.kind, m)
        moved.append(m)
    for s in sims:
        s.advance(horizon_h, drain=True)
    return moved
