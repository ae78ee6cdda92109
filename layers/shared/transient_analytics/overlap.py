"""The overlap guard: at most one execution of a state machine does the work at a time.

Every 15 minutes the scheduler starts the EMR pipeline; a run that outlives its slot must
not be joined by a second cluster. Each new execution asks which executions of its state
machine are RUNNING; it goes ahead only if none of them started before it. When two start
together, the tie is broken by execution ARN, so exactly one of them goes ahead and no
two can both skip each other into doing nothing, nor both run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RunningExecution:
    arn: str
    start_date: datetime


def blocking_execution(me: str, running: list[RunningExecution]) -> RunningExecution | None:
    """The running execution that ``me`` must give way to, or None if ``me`` may go ahead.

    ``me`` gives way to the earliest-started other execution that started before it (by
    start time, then ARN). If ``me`` is not in ``running`` (a listing that lags), every
    other running execution counts as earlier.
    """
    mine = next((r for r in running if r.arn == me), None)
    others = sorted((r for r in running if r.arn != me), key=lambda r: (r.start_date, r.arn))
    if mine is None:
        return others[0] if others else None
    for other in others:
        if (other.start_date, other.arn) < (mine.start_date, mine.arn):
            return other
    return None
