"""The demos of the offline twin and what they show.

- :mod:`offline.demo.run` — ``python -m offline.demo``: both workflows end to end (``make demo``,
  ``make demo-failure``); :mod:`offline.demo.report` — its report.
- :mod:`offline.demo.day` — ``python -m offline.demo.day``: a day of 15-minute ticks against the
  slot ledger (``make demo-day``).
- :mod:`offline.demo.picture` — an execution drawn as SVG; :mod:`offline.demo.sample_query` —
  the README's sample query run with DuckDB on the demo's output.
"""

from offline.demo.report import DemoReport, WorkflowReport
from offline.demo.run import Demo

__all__ = ["Demo", "DemoReport", "WorkflowReport"]
