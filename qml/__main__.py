"""``python -m qml`` (and ``torchrun -m qml``): the ``qml`` command."""

from __future__ import annotations

import sys

from qml.cli import main

if __name__ == "__main__":
    sys.exit(main())
