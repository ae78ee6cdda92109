"""The promotion race on DynamoDB: two claims read production before either writes (the worst interleaving).

claim_production with the real adapter on moto's DynamoDB; the handler for the retried claim.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from functions.promote_model import app as promote_app
from tests.functions.conftest import NOW
from tests.functions.registry_support import (
    OTHER_ROWS,
    TABLE,
    execution,
    job_output,
    plan_for,
    register,
    stack,
)
from tests.support import lambda_context
from transient_analytics.training.model_registry import ProductionPointer
from transient_analytics.training.promotion import PromoteModelEvent, claim_production
from transient_analytics.training.registry import ProductionModel

__all__ = ["stack"]  # the fixture


class GatedPointer(ProductionPointer):
    """The real DynamoDB pointer, in the worst interleaving: both racers read before either writes, A writes first."""

    def __init__(self, barrier: threading.Barrier, wait_for: threading.Event | None, done: threading.Event) -> None:
        super().__init__(boto3.client("dynamodb"), TABLE)
        self.barrier, self.wait_for, self.done, self.reads = barrier, wait_for, done, 0

    def read(self) -> ProductionModel | None:
        current = super().read()
        self.reads += 1
        if self.reads == 1:
            self.barrier.wait(timeout=10)
        return current

    def swap(self, new: ProductionModel, expected_revision: int | None) -> bool:
        if self.wait_for is not None:
            self.wait_for.wait(timeout=10)
        try:
            return super().swap(new, expected_revision)
        finally:
            self.done.set()


@pytest.mark.parametrize(
    ("rmse_a", "rmse_b"), [(2.10, 2.20), (2.20, 2.10)], ids=["better-wins-race", "worse-wins-race"]
)
def test_two_trainings_racing_to_promote_end_with_production_on_the_better_one(stack, rmse_a, rmse_b):
    # GIVEN two candidates registered against no production model, scored on the same hold-out rows
    plan_a, plan_b = plan_for("race-a"), plan_for("race-b")
    reg_a = register(plan_a, job_output(plan_a, "ta-abalone-train-ra-0-0", rmse_a), "race-a")
    reg_b = register(plan_b, job_output(plan_b, "ta-abalone-train-rb-0-0", rmse_b), "race-b")
    barrier, a_wrote, b_wrote = threading.Barrier(2), threading.Event(), threading.Event()
    pointers = {"a": GatedPointer(barrier, None, a_wrote), "b": GatedPointer(barrier, a_wrote, b_wrote)}
    results: dict[str, Any] = {}

    def claim(name: str, plan: dict[str, Any], registration: dict[str, Any]) -> None:
        event = {"plan": plan, "registration": registration, "execution": execution(f"race-{name}")}
        results[name] = claim_production(PromoteModelEvent.model_validate(event), NOW, pointers[name])

    # WHEN both claim at once: each reads "no production", then A's swap lands first
    threads = [
        threading.Thread(target=claim, args=(n, p, r)) for n, p, r in (("a", plan_a, reg_a), ("b", plan_b, reg_b))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    # THEN A won the swap from "nothing"; B's swap from "nothing" failed, and B decided again against A
    assert results["a"].outcome == "promote"
    final = ProductionPointer(boto3.client("dynamodb"), TABLE).read()
    assert final is not None
    if rmse_a < rmse_b:  # B is worse on the same rows: superseded, told once, production stays on A
        assert results["b"].outcome == "superseded" and results["b"].notice is not None
        assert "moved to v" in results["b"].notice.message
        assert (final.model_package_arn, final.revision) == (reg_a["candidate"]["model_package_arn"], 1)
    else:  # B is better on the same rows: it replaces A (production only moves to a better model)
        assert results["b"].outcome == "promote" and results["b"].previous_version == reg_a["candidate"]["version"]
        assert (final.model_package_arn, final.revision) == (reg_b["candidate"]["model_package_arn"], 2)
    assert pointers["b"].reads == 2  # one read, one lost swap, one more read: never a blind overwrite


def test_a_retried_claim_after_its_swap_took_effect_reports_it_promoted_without_a_second_swap(stack):
    plan = plan_for("retry")
    registration = register(plan, job_output(plan, "ta-abalone-train-rt-0-0", 2.2), "retry")
    event = {"plan": plan, "registration": registration, "execution": execution("retry")}
    first = promote_app.lambda_handler(event, lambda_context())
    again = promote_app.lambda_handler(event, lambda_context())
    assert (first["outcome"], again["outcome"]) == ("promote", "already")
    assert again["promoted"] is True
    assert ProductionPointer(boto3.client("dynamodb"), TABLE).read().revision == 1  # type: ignore[union-attr]


def test_production_moved_to_a_model_scored_on_other_rows_leaves_the_candidate_to_a_person(stack):
    # GIVEN candidate A promoted; candidate B, gated against no production, scored on other rows
    plan_a, plan_b = plan_for("rows-a"), plan_for("rows-b")
    reg_a = register(plan_a, job_output(plan_a, "ta-abalone-train-xa-0-0", 2.3), "rows-a")
    reg_b = register(plan_b, job_output(plan_b, "ta-abalone-train-xb-0-0", 1.0, rows=OTHER_ROWS), "rows-b")
    promote_app.lambda_handler(
        {"plan": plan_a, "registration": reg_a, "execution": execution("rows-a")}, lambda_context()
    )

    # WHEN B claims production
    result = promote_app.lambda_handler(
        {"plan": plan_b, "registration": reg_b, "execution": execution("rows-b")}, lambda_context()
    )

    # THEN it is not promoted: the two scores cannot be compared; the notice says so, with the approve command
    assert (result["promoted"], result["outcome"]) == (False, "incomparable")
    assert "other hold-out rows" in result["notice"]["message"]
    assert reg_b["candidate"]["model_package_arn"] in result["notice"]["message"]
    assert (
        ProductionPointer(boto3.client("dynamodb"), TABLE).read().model_package_arn
        == reg_a["candidate"]["model_package_arn"]
    )  # type: ignore[union-attr]
