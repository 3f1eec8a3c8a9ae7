"""``python -m ari``: the package's command line, the same as the ``ari`` console script.

    python -m ari demo [--speed 10] [--digits '12*#']
    python -m ari channels list
    python -m ari --help

Everything lives in ``ari.cli``; this module only hands it the arguments.
"""

from __future__ import annotations

import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    from .cli import main as run

    return run(argv, prog="python -m ari")


if __name__ == "__main__":
    sys.exit(main())
