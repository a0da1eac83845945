"""``python -m swapnet``: the ``swapnet`` command line (see :mod:`swapnet.cli`)."""

import sys

from swapnet.cli import main

if __name__ == "__main__":
    sys.exit(main())
