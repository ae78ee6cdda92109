"""The events the functions receive, as pydantic models (Powertools parser).

``parse_event`` is the single entry point: a bad event becomes an
:class:`~transient_analytics.errors.InvalidEventError` whose message names every field
and the rule it breaks, never a ``KeyError`` from deep inside a handler.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from transient_analytics.errors import InvalidEventError, describe_validation_error
from transient_analytics.slots import SLOT_ID_FORMAT, Pipeline

__all__ = ["Pipeline"]
Trigger = Literal["schedule", "backfill", "manual"]

STATE_MACHINE_ARN_PATTERN = r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$"
EXECUTION_ARN_PATTERN = (
    r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:(execution|express):[A-Za-z0-9_-]{1,80}:[^:\s]{1,80}$"
)
#: Epoch milliseconds between 2000-01-01 and 2100-01-01: anything outside is not a real event.
_EPOCH_MS_MIN = 946_684_800_000
_EPOCH_MS_MAX = 4_102_444_800_000


class BackfillRequest(BaseModel):
    """A range of slots to convert again: slot ids (``2026-11-25T20:15Z``) on slot boundaries."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str = Field(alias="from", min_length=1, max_length=32)
    to: str = Field(min_length=1, max_length=32)


class RunRequest(BaseModel):
    """The execution's input: the scheduler's payload, a backfill request, or ``{}`` (run now)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheduled_time: AwareDatetime | None = Field(
        default=None,
        description="The slot this run processes (ISO-8601 with offset). The scheduler sends "
        "<aws.scheduler.scheduled-time>; a backfill names a past time; absent means now.",
    )
    trigger: Trigger | None = Field(default=None, description="Who started the run.")
    backfill: BackfillRequest | None = Field(
        default=None,
        description="Queue the slots from ``from`` up to (not including) ``to`` again (quarantined ones "
        "released), then run as usual.",
    )


class ExecutionContext(BaseModel):
    """What the state machine tells the function about the execution it runs in (``$$``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=EXECUTION_ARN_PATTERN, description="$$.Execution.Id")
    name: str = Field(min_length=1, max_length=80, pattern=r"^[^:\s]+$", description="$$.Execution.Name")
    state_machine_arn: str = Field(pattern=STATE_MACHINE_ARN_PATTERN, description="$$.StateMachine.Id")
    start_time: AwareDatetime | None = Field(
        default=None,
        description="$$.Execution.StartTime: a run without a scheduled time is dated by it, so every "
        "retry of its PrepareRun plans the same run",
    )


class PrepareRunEvent(BaseModel):
    """The payload each state machine's ``PrepareRun`` task sends to ``prepare_run``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pipeline: Pipeline
    input: RunRequest = Field(default_factory=RunRequest)
    execution: ExecutionContext


ExecutionStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
FAILURE_STATUSES: frozenset[str] = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


class PayloadDetails(BaseModel):
    included: bool = True


class ExecutionStatusChangeDetail(BaseModel):
    """``detail`` of a "Step Functions Execution Status Change" event (Step Functions developer guide)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    executionArn: str = Field(pattern=EXECUTION_ARN_PATTERN)
    stateMachineArn: str = Field(pattern=STATE_MACHINE_ARN_PATTERN)
    name: str = Field(min_length=1, max_length=80)
    status: ExecutionStatus
    startDate: int = Field(ge=_EPOCH_MS_MIN, le=_EPOCH_MS_MAX, description="epoch milliseconds")
    stopDate: int | None = Field(default=None, ge=_EPOCH_MS_MIN, le=_EPOCH_MS_MAX)
    input: str | None = None
    output: str | None = None
    inputDetails: PayloadDetails | None = None
    outputDetails: PayloadDetails | None = None
    error: str | None = None
    cause: str | None = None
    redriveCount: int = Field(default=0, ge=0, le=1000)


class ExecutionStatusChangeEvent(EventBridgeModel):
    """The EventBridge envelope around it, with source and detail-type pinned."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    source: Literal["aws.states"]
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    time: datetime
    detail: ExecutionStatusChangeDetail


def parse_event[M: BaseModel](event: Any, model: type[M]) -> M:
    """Validate ``event`` against ``model`` or raise :class:`InvalidEventError` naming the fields."""
    if not isinstance(event, dict):
        raise InvalidEventError(f"<event>: must be a JSON object (got {type(event).__name__})")
    try:
        return parse(event=event, model=model)
    except ValidationError as exc:  # what Powertools' parser raises for an event that breaks the model
        raise InvalidEventError(describe_validation_error(exc)) from None


def _real_slot_time(text: str) -> str:
    try:
        datetime.strptime(text, SLOT_ID_FORMAT)
    except ValueError:
        raise ValueError("must be a real date and time (a slot id like 2026-11-25T20:15Z)") from None
    return text


#: A slot id (``2026-11-25T20:15Z``) that names a real time: a malformed one is refused before any AWS call.
SlotId = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$"), AfterValidator(_real_slot_time)]


class SlotWork(BaseModel):
    """One claimed slot of a run: where its data is, where it goes, and what it held when claimed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slot: SlotId
    input_uri: str = Field(pattern=r"^s3://")
    output_uri: str = Field(pattern=r"^s3://")
    fingerprint: str = Field(pattern=r"^[0-9a-f]{32}$")
    objects: int = Field(ge=0)
    bytes: int = Field(ge=0)
    manifest_uri: str | None = None
    #: Transform only: the slot's job-name prefix (the state machine appends retry and redrive counts).
    job_name_prefix: str | None = None


class TaskError(BaseModel):
    """A caught error as a ``Catch`` puts it at its ``ResultPath``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    Error: str = ""
    Cause: str = ""


class TransformJobOutcome(BaseModel):
    """What one iteration of the transform state machine's Map reports for its slot."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    slot: SlotId
    status: Literal["converted", "failed"]
    job: dict[str, Any] | None = None
    error: TaskError | None = None


class RecordedServerlessJob(BaseModel):
    """The part of the plan's serverless job ``record_slots`` needs (to find the job run it billed)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    job_name: str = Field(min_length=1, max_length=256)


class RecordedPlan(BaseModel):
    """The part of the run plan ``record_slots`` needs back."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    run_id: str = Field(min_length=1, max_length=64)
    slots: list[SlotWork] = Field(min_length=1, max_length=100)
    report_uri: str | None = None
    backend: Literal["cluster", "serverless"] = "cluster"
    serverless: RecordedServerlessJob | None = None


Outcome = Literal["step_succeeded", "step_failed", "cluster_failed", "termination_failed", "transform"]


class RecordSlotsEvent(BaseModel):
    """The payload the state machines' ``RecordSlots`` task sends to ``record_slots`` after the work."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pipeline: Pipeline
    outcome: Outcome
    execution: ExecutionContext
    plan: RecordedPlan
    error: TaskError | None = None
    jobs: list[TransformJobOutcome] = Field(default_factory=list)
    #: The cluster the run started (its billed usage), when it started one.
    cluster_id: str | None = Field(default=None, pattern=r"^j-[A-Z0-9]{1,64}$")
    #: The serverless job run (when the task returned one; a failed task is found by the job's name).
    job_run_id: str | None = Field(default=None, pattern=r"^[0-9a-z]+$", max_length=64)

    @model_validator(mode="after")
    def _outcome_of_this_pipeline(self) -> Self:
        if (self.outcome == "transform") != (self.pipeline == "transform"):
            raise ValueError(
                f"outcome: {self.outcome!r} is not an outcome of the {self.pipeline} pipeline "
                "(the transform pipeline reports 'transform', the EMR pipeline a step or cluster outcome)"
            )
        return self
