"""Entry point of a window worker process (``python -m swapnet.siting._window_worker``).

Nothing in the package imports this module, so running it does not execute a module twice; the
loop itself is :func:`swapnet.siting._sizing_workers.serve`.
"""

from __future__ import annotations

import os
import sys

from swapnet.siting._sizing_workers import serve


def main() -> None:
    """Answer window tasks on the original standard output; anything a library prints goes to standard
    error instead, so it cannot corrupt the answers."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
