"""``python -m quartzite``: the ``quartzite`` command line (see :mod:`quartzite.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
