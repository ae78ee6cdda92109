"""Bridge: the Step Functions API.

StartExecution takes ``arn#TestCase``; DescribeExecution reports redrives; RedriveExecution is added.
"""

from __future__ import annotations

import copy
import datetime
import json
import uuid
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from offline.engine.executions import ExecutionNotRedrivable, HarnessExecution, TestCaseNotFound
from offline.engine.hooks import current
from transient_analytics.models import FAILURE_STATUSES


def start_execution(
    self: StepFunctionsParserBackend,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> HarnessExecution:
    """``StartExecution`` accepting ``stateMachineArn#TestCase`` (Step Functions Local's convention)."""
    arn, _, test_case_name = state_machine_arn.partition("#")
    state_machine = self.describe_state_machine(arn)
    mock_test_case = None
    if test_case_name:
        mock_test_case = current().load_test_case(state_machine.name, test_case_name)
        if mock_test_case is None:
            raise TestCaseNotFound(
                f"Invalid mock test case name '{test_case_name}' for state machine '{state_machine.name}': "
                "not defined in the mock configuration file"
            )
    name = name or str(uuid.uuid4())
    self._validate_name(name)
    existing = state_machine._handle_name_input_idempotency(name, execution_input or "{}")
    if existing is not None:
        return existing  # type: ignore[return-value]  # started by the harness, typed as moto's own Execution
    clone = copy.deepcopy(
        state_machine, {id(state_machine.executions): [], id(state_machine.backend): state_machine.backend}
    )
    input_data = execution_input if execution_input is not None else "{}"
    json.loads(input_data)
    execution = HarnessExecution(
        mock_test_case=mock_test_case,
        test_case_name=test_case_name or None,
        name=name,
        sm_type=clone.sm_type,
        role_arn=clone.roleArn,
        exec_arn=f"arn:{self.partition}:states:{self.region_name}:{self.account_id}:execution:{state_machine.name}:{name}",
        account_id=self.account_id,
        region_name=self.region_name,
        state_machine=clone,
        start_date=current().execution_clock() or datetime.datetime.now(tz=datetime.UTC),
        cloud_watch_logging_session=None,
        input_data=input_data,
        trace_header=trace_header,
        activity_store={},
    )
    state_machine.executions.append(execution)  # type: ignore[arg-type]  # moto types it with its other Execution
    execution.start()
    return execution


def describe_execution_response(original: Callable[[StepFunctionResponse], ActionResult]) -> Any:
    def describe_execution(self: StepFunctionResponse) -> ActionResult:
        result = original(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        response = result.result
        if isinstance(response, dict) and isinstance(execution, HarnessExecution):
            response["redriveCount"] = execution.redrive_count
            if execution.redrive_date is not None:
                response["redriveDate"] = execution.redrive_date
            terminal = execution.status in FAILURE_STATUSES
            response["redriveStatus"] = "REDRIVABLE" if terminal else "NOT_REDRIVABLE"
            if execution.status == "TIMED_OUT":
                response["stopDate"] = execution.stop_date
        return result

    return describe_execution


def redrive_execution_response(self: StepFunctionResponse) -> ActionResult:
    execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
    if not isinstance(execution, HarnessExecution):
        raise ExecutionNotRedrivable("Only executions started inside the offline harness can be redriven")
    return ActionResult({"redriveDate": execution.redrive()})
