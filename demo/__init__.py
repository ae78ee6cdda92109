"""The main job on the offline twin, and what it shows.

- :mod:`demo.run` — ``python -m demo``: both workflows end to end (``make demo``, ``make demo-failure``);
  :mod:`demo.report` its report, :mod:`demo.outputs` what it reads back, :mod:`demo.function_logs`
  where the functions' logs go.
- :mod:`demo.day` — ``python -m demo.day``: a day of 15-minute ticks against the slot ledger
  (``make demo-day``); :mod:`demo.day_report` what it prints.
- :mod:`demo.picture` — an execution drawn as SVG; :mod:`demo.sample_query` — the sample
  query run with DuckDB on the demo's output."""

from demo.report import DemoReport, WorkflowReport
from demo.run import Demo

__all__ = ["Demo", "DemoReport", "WorkflowReport"]
