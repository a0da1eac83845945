"""One-at-a-time (tornado) and two-parameter grid sensitivity of any scalar model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from swapnet.errors import InvalidInputError

__all__ = ["grid2", "tornado"]

Model = Callable[..., float]


def tornado(
    fn: Model,
    base_params: Mapping[str, float],
    deltas: Mapping[str, tuple[float, float]] | float,
) -> pd.DataFrame:
    """One-at-a-time sensitivity: ``fn(**params)`` with one parameter at a low and a high value.

    Parameters
    ----------
    fn
        Model returning a number (e.g. an NPV in CNY), called with keyword arguments.
    base_params
        Base values of all parameters.
    deltas
        Either ``{name: (low, high)}`` absolute values for the parameters to vary, or a
        fraction ``f`` applied to every parameter (``base * (1 - f)``, ``base * (1 + f)``).

    Returns
    -------
    pandas.DataFrame
        Index: parameter, sorted by ``swing`` descending. Columns ``low_value``, ``high_value``
        (inputs), ``low``, ``high`` (outputs), ``base`` (output at the base) and
        ``swing = |high - low|``.
    """
    base = dict(base_params)
    if isinstance(deltas, Mapping):
        ranges = {k: (float(v[0]), float(v[1])) for k, v in deltas.items()}
    else:
        f = float(deltas)
        ranges = {k: (v * (1.0 - f), v * (1.0 + f)) for k, v in base.items()}
    for k in ranges:
        if k not in base:
            raise InvalidInputError("deltas", k, "is not a key of base_params")
    y0 = float(fn(**base))
    rows = []
    for k, (lo, hi) in ranges.items():
        ylo = float(fn(**{**base, k: lo}))
        yhi = float(fn(**{**base, k: hi}))
        rows.append(
            {"parameter": k, "low_value": lo, "high_value": hi, "low": ylo, "high": yhi, "base": y0,
             "swing": abs(yhi - ylo)}
        )  # fmt: skip
    df = pd.DataFrame(rows, columns=["parameter", "low_value", "high_value", "low", "high", "base", "swing"])
    return df.set_index("parameter").sort_values("swing", ascending=False, kind="stable")


def grid2(
    fn: Model,
    p1: tuple[str, Sequence[float]],
    p2: tuple[str, Sequence[float]],
    base_params: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Evaluate ``fn(**params)`` over a grid of two parameters.

    Parameters
    ----------
    fn
        Model returning a number, called with keyword arguments.
    p1, p2
        ``(name, values)`` of the row and column parameters.
    base_params
        Values of the other parameters.

    Returns
    -------
    pandas.DataFrame
        Rows indexed by ``p1`` values (index name ``p1[0]``), columns by ``p2`` values (columns
        name ``p2[0]``).
    """
    (n1, v1), (n2, v2) = p1, p2
    base = dict(base_params or {})
    out = pd.DataFrame(
        [[float(fn(**{**base, n1: a, n2: b})) for b in v2] for a in v1],
        index=pd.Index(list(v1), name=n1),
        columns=pd.Index(list(v2), name=n2),
    )
    return out
