"""What ``promote_model`` does (the training state machine's ClaimProduction): swap the production pointer.

The race rule (``gate.claim``): the pointer is swapped with a condition on the revision read, from the
model the candidate was gated against; if production moved meanwhile, the candidate is compared with
the new production model on the same hold-out rows, or left to a person with the one message they get.

Faults: a retry after a swap that took effect reads its own package as production (``already``) and
reports it promoted; a concurrent claim that wrote first makes this swap fail, and the decision is
taken again against the new production model (at most :data:`MAX_SWAP_ATTEMPTS` times, then
:class:`PromotionConflict`, which Lambda's retry answers); a crash after the swap leaves production
right and the package not yet Approved until the state machine's ApprovePackage runs (a redrive does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from transient_analytics.models import ExecutionContext
from transient_analytics.tags import TAG_STACK
from transient_analytics.training.gate import claim
from transient_analytics.training.plan import TrainingPlan
from transient_analytics.training.registry import Notice, ProductionModel, Registration, pending_notice

#: Claims re-decided after losing a conditional write before the function gives up (and Lambda retries).
MAX_SWAP_ATTEMPTS = 3


class PromotionConflict(RuntimeError):
    """The production pointer kept moving while this run tried to claim it."""


class Pointer(Protocol):
    def read(self) -> ProductionModel | None: ...
    def swap(self, new: ProductionModel, expected_revision: int | None) -> bool: ...


class PromoteModelEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    plan: TrainingPlan
    registration: Registration
    execution: ExecutionContext


class Promotion(BaseModel):
    model_config = ConfigDict(frozen=True)

    promoted: bool
    outcome: Literal["promote", "already", "superseded", "incomparable"]
    reason: str
    production: ProductionModel | None = None
    previous_version: int | None = None
    notice: Notice | None = None


def claim_production(event: PromoteModelEvent, now: datetime, pointer: Pointer) -> Promotion:
    """Swap the production pointer to the candidate under the race rule, or say why not (see the module)."""
    registration, plan = event.registration, event.plan
    candidate = registration.candidate
    gated_against = registration.incumbent.model_package_arn if registration.incumbent else None
    for _ in range(MAX_SWAP_ATTEMPTS):
        current = pointer.read()
        decision = claim(
            candidate.scored(),
            candidate.model_package_arn,
            gated_against,
            current.scored() if current else None,
            current.model_package_arn if current else None,
            plan.gate_threshold,
            manual=registration.mode == "manual",
        )
        if decision.outcome == "already":
            return Promotion(promoted=True, outcome="already", reason=decision.reason, production=current)
        if not decision.promoted:
            notice = pending_notice(
                candidate,
                registration.incumbent,
                decision.reason,
                stack=_stack(plan),
                state_machine_arn=event.execution.state_machine_arn,
                threshold=plan.gate_threshold,
                production=current,
            )
            return Promotion(
                promoted=False, outcome=decision.outcome, reason=decision.reason, production=current, notice=notice
            )
        new = ProductionModel(
            revision=current.revision + 1 if current else 1,
            model_package_arn=candidate.model_package_arn,
            version=candidate.version,
            model_name=candidate.model_name,
            model_data_url=candidate.model_data_url,
            rmse=candidate.rmse,
            holdout_sha256=candidate.holdout_sha256,
            data_sha256=candidate.data_sha256,
            data_fingerprint=candidate.data_fingerprint,
            promoted_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            promoted_by=event.execution.id,
            reason=decision.reason,
        )
        if pointer.swap(new, current.revision if current else None):
            return Promotion(
                promoted=True,
                outcome="promote",
                reason=decision.reason,
                production=new,
                previous_version=current.version if current else None,
            )
    raise PromotionConflict(
        f"the production pointer moved {MAX_SWAP_ATTEMPTS} times while v{candidate.version} tried to claim it"
    )


def _stack(plan: TrainingPlan) -> str:
    return next((t.Value for t in plan.tags if t.Key == TAG_STACK), "")
