"""When the operations engine may start worker processes.

Workers start from a clean interpreter (``forkserver`` or ``spawn``), which imports the caller's
``__main__`` script again. A script that calls :func:`~swapnet.operations.plan_operations` at its
top level, without an ``if __name__ == "__main__":`` guard, would then run itself again in every
worker. The engine therefore starts processes only when that cannot happen (an interactive session,
``python -c``, or a main script that has the guard) and otherwise does the same work in-process.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["processes_allowed"]


def processes_allowed() -> bool:
    """Whether worker processes can start without re-running an unguarded ``__main__`` script."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        return True  # interactive, python -c, or an embedded interpreter: nothing to re-run
    try:
        text = Path(path).read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return False
    return "__name__" in text and "__main__" in text
