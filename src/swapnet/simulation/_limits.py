"""Resource guard of :func:`~swapnet.simulation.simulate` (private): estimate before running.

A simulation holds every swap request of a replication in memory (arrival and swap times, queue
state and outcomes: about :data:`BYTES_PER_REQUEST` bytes each) plus per-station time series
(three float series per station and time bin). Before any replication starts, the expected
number of requests and these arrays are estimated from the routed demand; a run that would not
fit in memory, or would handle more than :data:`MAX_REQUESTS_PER_REPLICATION` requests, is
refused with the estimate and the option to change, instead of exhausting memory (1e9 requests an
hour once asked for 179 GiB) or running for days (``days = 10**6``).
"""

from __future__ import annotations

import os

from swapnet.errors import InvalidInputError

#: Memory per simulated swap request (arrays of times, durations, outcomes), bytes.
BYTES_PER_REQUEST = 48
#: Most swap requests in one replication (measured ~170,000 requests/s on one busy core: ~5 min).
MAX_REQUESTS_PER_REPLICATION = 50_000_000
#: Most swap requests over all replications (~10 min at the same rate).
MAX_REQUESTS_TOTAL = 100_000_000
#: Most station x time-bin cells per replication (e.g. 1,000 stations x a year of hourly bins).
MAX_SERIES_CELLS = 10_000_000
#: Fraction of the machine's physical memory a simulation may plan to use.
MEMORY_SHARE = 0.5
_FALLBACK_MEMORY = 8 * 1024**3


def physical_memory() -> int:
    """Physical memory of this machine, bytes (8 GiB when it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return _FALLBACK_MEMORY


def _gib(b: float) -> str:
    return f"{b / 1024**3:,.1f} GiB"


def check_simulation_size(
    *, requests_per_day: float, total_days: int, stations: int, bins: int, replications: int
) -> None:
    """Refuse a simulation whose estimated requests or memory exceed the limits.

    Parameters
    ----------
    requests_per_day
        Expected swap requests per simulated day over all stations.
    total_days
        Warm-up plus observed days.
    stations
        Simulated stations.
    bins
        Time bins of the observed horizon (per station, three float series each).
    replications
        Replications (run one after another: memory is per replication).

    Raises
    ------
    InvalidInputError
        Naming ``options.days`` (or the demand) with the estimate and the limit.
    """
    requests = requests_per_day * total_days
    series = 3.0 * 8.0 * stations * bins * 2  # the running sum and one replication's series
    need = BYTES_PER_REQUEST * requests + series
    budget = MEMORY_SHARE * physical_memory()
    what = (
        f"~{requests:,.0f} swap requests per replication ({requests_per_day:,.0f} a day x {total_days:,} days) "
        f"and {stations:,} stations x {bins:,} time bins"
    )
    if requests > MAX_REQUESTS_PER_REPLICATION:
        raise InvalidInputError(
            "options.days",
            total_days,
            f"{what}: more than {MAX_REQUESTS_PER_REPLICATION:,} requests per replication "
            f"(x {replications} replications); simulate fewer days (options.days, options.warmup_days) "
            "or less demand",
        )
    total = requests * replications
    if total > MAX_REQUESTS_TOTAL:
        raise InvalidInputError(
            "options.replications",
            replications,
            f"{what}: ~{total:,.0f} requests over {replications} replications, more than {MAX_REQUESTS_TOTAL:,}; "
            "use fewer replications (options.replications) or days (options.days)",
        )
    if stations * bins > MAX_SERIES_CELLS:
        raise InvalidInputError(
            "options.days",
            total_days,
            f"{what}: {stations * bins:,} station x bin cells, more than {MAX_SERIES_CELLS:,}; simulate fewer days "
            "(options.days) or use coarser bins (options.bin_minutes)",
        )
    if need > budget:
        raise InvalidInputError(
            "options.days",
            total_days,
            f"{what} need ~{_gib(need)} of memory, more than {_gib(budget)} "
            f"({MEMORY_SHARE:.0%} of this machine's {_gib(physical_memory())}); simulate fewer days "
            "(options.days, options.warmup_days), coarser bins (options.bin_minutes) or less demand",
        )
