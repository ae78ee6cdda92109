"""What every SNS message the pipelines send is made of: a subject SNS accepts, a readable cause, a command.

The failed run's message (``failed_run``), the slots' notices (``slot_notices``) and the model
registry's message for a person (``training.registry``) are built from these. Pure: no AWS calls.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from transient_analytics.slots import GRIDS, parse_slot_id, slot_id

#: SNS: "Subjects must be ASCII text that begins with a letter, number, or punctuation mark;
#: must not include line breaks or control characters; and must be less than 100 characters long."
SNS_SUBJECT_MAX = 99
PIPELINE_TITLES = {"emr": "EMR pipeline", "transform": "Batch transform", "train": "Model training"}
_NOT_SUBJECT = re.compile(r"[^\x20-\x7e]+")


@dataclass(frozen=True)
class Notification:
    subject: str
    message: str


def sns_subject(text: str) -> str:
    """``text`` made a valid SNS subject: printable ASCII, one line, under 100 characters."""
    cleaned = _NOT_SUBJECT.sub(" ", text).strip()
    cleaned = re.sub(r" {2,}", " ", cleaned)
    if len(cleaned) > SNS_SUBJECT_MAX:
        cleaned = cleaned[: SNS_SUBJECT_MAX - 3].rstrip() + "..."
    return cleaned or "transient-analytics notification"


def trim_middle(text: str, limit: int) -> str:
    """Keep the head and the tail of a long text (where errors usually say what went wrong)."""
    if len(text) <= limit:
        return text
    marker = f"\n  … [{len(text) - limit} characters trimmed] …\n"
    head = (limit * 2) // 3
    tail = limit - head
    return text[:head].rstrip() + marker + text[-tail:].lstrip()


def summarize_cause(cause: str | None, limit: int) -> str:
    """A readable cause: the message inside a Lambda, EMR or SageMaker JSON cause, trimmed."""
    if not cause:
        return "(none given)"
    data: Any
    try:
        data = json.loads(cause)
    except ValueError:
        data = None
    if isinstance(data, dict):
        parts: list[str] = []
        if "errorMessage" in data:  # a Lambda function's error
            parts.append(f"{data.get('errorType', 'Error')}: {data['errorMessage']}")
        failure = (data.get("Step") or {}).get("Status", {}).get("FailureDetails") if "Step" in data else None
        if isinstance(failure, dict):  # an EMR step (addStep.sync)
            parts += [str(failure[k]) for k in ("Reason", "Message") if failure.get(k)]
            if failure.get("LogFile"):
                parts.append(f"log: {failure['LogFile']}")
        state_change = (data.get("Status") or {}).get("StateChangeReason") if "Status" in data else None
        if isinstance(state_change, dict) and state_change.get("Message"):  # an EMR cluster
            parts.append(f"{state_change.get('Code', '')} {state_change['Message']}".strip())
        if data.get("FailureReason"):  # a SageMaker job
            parts.append(str(data["FailureReason"]))
        if parts:
            return trim_middle(" | ".join(parts), limit)
    return trim_middle(cause, limit)


def backfill_command(pipeline: str, state_machine_arn: str, first_slot: str, last_slot: str) -> str:
    """The command that queues the slots ``first_slot`` .. ``last_slot`` again (and releases quarantined ones)."""
    grid = GRIDS["emr" if pipeline == "emr" else "transform"]
    end = slot_id(grid.end_of(parse_slot_id(last_slot)))
    payload = json.dumps({"backfill": {"from": first_slot, "to": end}, "trigger": "backfill"})
    return f"aws stepfunctions start-execution --state-machine-arn {state_machine_arn} --input '{payload}'"
