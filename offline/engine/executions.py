"""Bridge: executions. An ISO ``$$.Execution.StartTime``, ``$$.Execution.RedriveCount``, StopExecution
ABORTED at once, RedriveExecution."""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass
from typing import Any, cast

from moto.core.exceptions import AWSError
from moto.stepfunctions.parser.api import (
    ExecutionStatus,
    HistoryEventExecutionDataDetails,
    HistoryEventType,
)
from moto.stepfunctions.parser.asl.component.common.flow.start_at import StartAt
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.evaluation_details import EvaluationDetails, ExecutionDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext, EventManager
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.mocking.mock_config import MockTestCase
from moto.stepfunctions.parser.utils import TMP_THREADS

from offline.engine.hooks import event_details
from offline.history import state_visits

#: How long RedriveExecution waits for a just-stopped execution's interpreter to unwind.
_UNWIND_SECONDS = 30.0


class ExecutionNotRedrivable(AWSError):
    TYPE = "ExecutionNotRedrivable"
    STATUS = 400


class TestCaseNotFound(AWSError):
    """What Step Functions Local answers for an unknown ``#TestCase`` (an invalid ARN)."""

    __test__ = False  # not a pytest test class
    TYPE = "InvalidArn"
    STATUS = 400


def _iso_millis(moment: datetime.datetime) -> str:
    """``2026-11-25T20:16:05.123Z``: how ``$$.Execution.StartTime`` reads on AWS."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class _RedrivePoint:
    state: str
    state_input: Any
    last_event_id: int
    event_manager: EventManager


class HarnessWorker(ExecutionWorker):
    """moto's worker, with ``$$.Execution.RedriveCount`` and the ability to start at a redriven state."""

    def __init__(
        self,
        evaluation_details: EvaluationDetails,
        exec_comm: Any,
        cloud_watch_logging_session: Any,
        activity_store: dict[str, Any],
        mock_test_case: MockTestCase | None,
        redrive_count: int,
        redrive_point: _RedrivePoint | None = None,
    ) -> None:
        super().__init__(
            evaluation_details=evaluation_details,
            exec_comm=exec_comm,
            cloud_watch_logging_session=cloud_watch_logging_session,
            activity_store=activity_store,
            mock_test_case=mock_test_case,
        )
        self._redrive_count = redrive_count
        self._redrive_point = redrive_point
        #: Set once the execution has reached its final status and moto has recorded it.
        self.finished = threading.Event()
        self.env = self._build_environment()

    def _build_environment(self) -> Environment:
        env = self._get_evaluation_environment()
        env.states.context_object.context_object_data["Execution"]["RedriveCount"] = self._redrive_count  # type: ignore[typeddict-unknown-key]  # the key AWS has, moto's TypedDict lacks
        if self._redrive_point is not None:
            env.event_manager = self._redrive_point.event_manager
            env.event_history_context = EventHistoryContext(previous_event_id=self._redrive_point.last_event_id)  # type: ignore[misc]  # moto declares it Final
            env.states.reset(input_value=self._redrive_point.state_input)
        return env

    def _execution_logic(self) -> None:
        program = self._get_evaluation_entrypoint()
        env = self.env
        assert env is not None
        if self._redrive_point is None:
            details = self._evaluation_details
            env.event_manager.add_event(
                context=env.event_history_context,
                event_type=HistoryEventType.ExecutionStarted,
                event_details=event_details(
                    executionStartedEventDetails={
                        "input": to_json_str(details.execution_details.inpt),
                        "inputDetails": HistoryEventExecutionDataDetails(truncated=False),
                        "roleArn": details.aws_execution_details.role_arn,
                    }
                ),
                update_source_event_id=False,
            )
        else:
            env.event_manager.add_event(
                context=env.event_history_context,
                event_type=HistoryEventType.ExecutionRedriven,
                event_details=event_details(executionRedrivenEventDetails={"redriveCount": self._redrive_count}),
            )
            cast(Program, program).start_at = StartAt(start_at_name=self._redrive_point.state)  # type: ignore[misc]  # Final in moto: the redrive starts elsewhere
        try:
            program.eval(env)
            self._execution_communication.terminated()
        finally:
            self.finished.set()

    def start(self) -> None:
        thread = threading.Thread(target=self._execution_logic, daemon=True, name="offline-execution")
        TMP_THREADS.append(thread)
        thread.start()


class HarnessExecution(Execution):
    """An execution that knows its test case and redrive count, and can be redriven."""

    mock_test_case: MockTestCase | None
    test_case_name: str | None
    redrive_count: int
    redrive_date: datetime.datetime | None

    def __init__(self, *, mock_test_case: MockTestCase | None, test_case_name: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mock_test_case = mock_test_case
        self.test_case_name = test_case_name
        self.redrive_count = 0
        self.redrive_date = None
        self._redrive_point: _RedrivePoint | None = None

    def get_start_execution_details(self) -> ExecutionDetails:
        return ExecutionDetails(
            arn=self.exec_arn,
            name=self.name,
            role_arn=self.role_arn,
            inpt=self.input_data,
            start_time=_iso_millis(self.start_date),
        )

    def _get_start_execution_worker(self) -> HarnessWorker:
        return HarnessWorker(
            evaluation_details=EvaluationDetails(
                aws_execution_details=self._get_start_aws_execution_details(),
                execution_details=self.get_start_execution_details(),
                state_machine_details=self.get_start_state_machine_details(),
            ),
            exec_comm=self._get_start_execution_worker_comm(),
            cloud_watch_logging_session=self._cloud_watch_logging_session,
            activity_store=self._activity_store,
            mock_test_case=self.mock_test_case,
            redrive_count=self.redrive_count,
            redrive_point=self._redrive_point,
        )

    def stop(self, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
        """StopExecution: ABORTED at once, as on AWS (moto waits for the running task to return).

        The interpreter still unwinds in the background: the ``ExecutionAborted`` event and the
        worker's completion come once the running task (e.g. a runner) returns.
        """
        super().stop(stop_date=stop_date, error=error, cause=cause)
        worker = self.exec_worker
        if worker is not None and worker.env is not None and isinstance(worker.env.program_state(), ProgramStopped):
            self.exec_status = ExecutionStatus.ABORTED
            self.stop_date = stop_date

    def redrive(self) -> datetime.datetime:
        """RedriveExecution: re-run from the state that did not complete, with the input it received.

        As on AWS: only a FAILED, ABORTED or TIMED_OUT execution; the same ARN, definition and
        history (an ``ExecutionRedriven`` event, then the rerun); states that completed are not
        rerun; ``$$.Execution.RedriveCount`` goes up by one; the machine-level timeout restarts.
        The redriven state is the last one entered without a matching exit event, the rule AWS
        documents; a ``Catch`` that leads to a ``Fail`` state therefore redrives that ``Fail`` state.
        """
        if self.exec_status not in (ExecutionStatus.FAILED, ExecutionStatus.ABORTED, ExecutionStatus.TIMED_OUT):
            raise ExecutionNotRedrivable(f"Execution {self.exec_arn} is {self.exec_status}: it cannot be redriven")
        worker = self.exec_worker
        if isinstance(worker, HarnessWorker) and not worker.finished.wait(_UNWIND_SECONDS):
            raise ExecutionNotRedrivable(f"Execution {self.exec_arn} is still stopping: try again once it has")
        previous = worker.env if worker else None
        if previous is None:
            raise ExecutionNotRedrivable(f"Execution {self.exec_arn} has no history to redrive from")
        events = cast(list[dict[str, Any]], previous.event_manager.get_event_history())
        point = _redrive_point(events, previous.event_manager)
        if point is None:
            raise ExecutionNotRedrivable(f"Execution {self.exec_arn}: no unfinished state to redrive")
        self._redrive_point = point
        self.redrive_count += 1
        self.redrive_date = datetime.datetime.now(tz=datetime.UTC)
        self.exec_status = ExecutionStatus.RUNNING
        self.stop_date = None
        self.error = None
        self.cause = None
        self.output = None
        self.exec_worker = self._get_start_execution_worker()
        self.exec_worker.start()
        return self.redrive_date


def _redrive_point(events: list[dict[str, Any]], manager: EventManager) -> _RedrivePoint | None:
    """The last state entered without an exit since the last redrive (an earlier attempt's were rerun)."""
    redriven = [i for i, event in enumerate(events) if event["type"] == "ExecutionRedriven"]
    open_visits = [v for v in state_visits(events[redriven[-1] + 1 if redriven else 0 :]) if v.exited is None]
    if not open_visits:
        return None
    return _RedrivePoint(open_visits[-1].name, open_visits[-1].input, events[-1]["id"], manager)
