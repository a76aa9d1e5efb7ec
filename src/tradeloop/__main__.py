"""``python -m tradeloop``: the command line."""

import sys

from tradeloop.cli import main

sys.exit(main())
