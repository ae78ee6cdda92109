"""``python -m demo``: both workflows end to end, with a report (see :mod:`demo.run`)."""

import sys

from demo.run import main

sys.exit(main())
