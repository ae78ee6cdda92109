"""The AWS side of a backfill: the stack's limits and ledger read, the execution started.

The limits come from the PrepareRun function's environment (``lambda:GetFunctionConfiguration``),
or ``PrepareRunSettings``' defaults when that is not allowed; the ledger is read with one
consistent Query. Reads degrade to a note; a refused start is a :class:`BackfillError`.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError, NoCredentialsError
from pydantic import ValidationError

from tools.backfill_plan import Backfill, BackfillError, Limits
from transient_analytics.errors import describe_validation_error
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.ledger.store import SlotLedger
from transient_analytics.runs.planning import max_slots
from transient_analytics.settings import PrepareRunSettings
from transient_analytics.slots import GRIDS, Pipeline, SlotRange, slot_id

STATE_MACHINE_OUTPUTS: dict[str, str] = {
    "emr": "EmrPipelineStateMachineArn",
    "transform": "BatchTransformStateMachineArn",
}
LEDGER_OUTPUT = "SlotLedgerTableName"
FUNCTION_OUTPUT = "PrepareRunFunctionName"


def read_limits(lambda_client: Any, function_name: str | None, pipeline: Pipeline) -> Limits:
    """The limits from the PrepareRun function's environment, or ``PrepareRunSettings``' defaults."""
    reason = f"the stack has no {FUNCTION_OUTPUT} output"
    if function_name:
        try:
            env = lambda_client.get_function_configuration(FunctionName=function_name)
            settings = PrepareRunSettings.model_validate(env.get("Environment", {}).get("Variables", {}))
        except ClientError as exc:
            reason = f"cannot read {function_name}'s configuration: {exc.response.get('Error', {}).get('Code')}"
        except ValidationError as exc:
            reason = f"{function_name}'s environment does not validate: {describe_validation_error(exc)}"
        else:
            return Limits(settings.MAX_BACKFILL_SLOTS, max_slots(pipeline, settings), f"{function_name}'s environment")
    fields = PrepareRunSettings.model_fields
    per_run = "EMR_MAX_SLOTS_PER_RUN" if pipeline == "emr" else "TRANSFORM_MAX_SLOTS_PER_RUN"
    return Limits(fields["MAX_BACKFILL_SLOTS"].default, fields[per_run].default, f"defaults ({reason})")


def read_ledger(ddb: Any, table: str, pipeline: Pipeline, rng: SlotRange) -> tuple[dict[str, SlotRecord] | None, str]:
    """The range's records (one consistent Query), or None and why not."""
    starts = rng.slots(GRIDS[pipeline])
    try:
        return SlotLedger(ddb, table).window(pipeline, slot_id(starts[0]), slot_id(starts[-1])), ""
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return None, f"ledger {table} not readable ({error.get('Code')}: {error.get('Message')})"
    except ValidationError as exc:
        return None, f"ledger {table} holds a record that does not validate: {describe_validation_error(exc)}"


def start(sfn: Any, b: Backfill) -> str:
    """Start the backfill's execution; its ARN."""
    try:
        response = sfn.start_execution(
            stateMachineArn=b.state_machine_arn, name=b.execution_name, input=json.dumps(b.execution_input)
        )
    except NoCredentialsError:
        raise BackfillError("no AWS credentials found (set AWS_PROFILE or the AWS_* variables)") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise BackfillError(
            f"start-execution on {b.state_machine_arn} refused: {error.get('Code')}: {error.get('Message')}"
        ) from None
    return response["executionArn"]
