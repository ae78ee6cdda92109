"""``python -m offline.demo``: both workflows end to end, with a report (see :mod:`offline.demo.run`)."""

import sys

from offline.demo.run import main

sys.exit(main())
