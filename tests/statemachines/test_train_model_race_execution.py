"""Two trainings racing to promote: both gated against the same production (none), both approved by the gate.

Both executions train at the same time (their jobs held until both have started); which one claims
production first is set by the test. Whatever the order, production ends on the better model, never
on both, and the loser's package waits for a person with one message. (The read-then-swap
interleaving of the two claims themselves, on DynamoDB, is tests/functions/test_model_registry.py's.)
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from offline.harness import OfflineHarness
from offline.integrations import TaskContext
from offline.runners.sagemaker_training import SAGEMAKER_TRAINING, TrainingRunner
from tests.statemachines.sfn_support import unique
from tests.statemachines.training_support import PROMOTED_STATES, TRAIN, manual, package, production, registration_of

BETTER, WORSE = "ridge", "hist_gradient_boosting"  # 2.2116 and 2.2340 hold-out RMSE on the same rows


@pytest.mark.parametrize("first", [BETTER, WORSE], ids=["better-claims-first", "worse-claims-first"])
def test_two_trainings_racing_to_promote_leave_production_on_the_better_one(
    h: OfflineHarness, training: TrainingRunner, first: str
):
    # GIVEN two trainings that both start before either finishes; `first` is let through first
    both_training = threading.Barrier(2)
    first_finished = threading.Event()

    def racing(parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        both_training.wait(timeout=30)
        if json.loads(parameters["HyperParameters"]["candidates"]) != first:
            first_finished.wait(timeout=120)
        return training.create_training_job(parameters, context)

    h.runners.register(SAGEMAKER_TRAINING, racing)
    second = WORSE if first == BETTER else BETTER

    # WHEN both run
    arns = {c: h.start_execution(TRAIN, manual(c), name=unique(c.replace("_", "-"))) for c in (first, second)}
    ended_first = h.wait(arns[first], timeout=180)
    first_finished.set()
    ended_second = h.wait(arns[second], timeout=180)

    # THEN both were gated against "no production model" and approved by the gate
    for result in (ended_first, ended_second):
        assert result.status == "SUCCEEDED"
        assert registration_of(result)["incumbent"] is None and registration_of(result)["approve"] is True
    better = ended_first if first == BETTER else ended_second
    worse = ended_second if first == BETTER else ended_first
    better_arn = registration_of(better)["candidate"]["model_package_arn"]
    worse_arn = registration_of(worse)["candidate"]["model_package_arn"]
    # AND production ends on the better model
    final = production(h)
    assert final is not None and final.model_package_arn == better_arn
    if first == BETTER:
        # the worse one found production moved to a better model on the same rows: superseded, one message
        assert ended_first.states_entered == PROMOTED_STATES
        assert ended_second.states_entered[-3:] == ["Claimed", "NotifyNotPromoted", "AwaitingApproval"]
        assert ended_second.output["promotion"]["outcome"] == "superseded"
        assert package(h, worse_arn)["ModelApprovalStatus"] == "PendingManualApproval"
        [message] = h.published()
        assert worse_arn in message.message and "moved to v" in message.message
        assert final.revision == 1
    else:
        # the better one found the worse one in production and beat it on the same rows: production moved once more
        assert ended_first.states_entered == ended_second.states_entered == PROMOTED_STATES
        promotion = ended_second.output["promotion"]
        assert promotion["outcome"] == "promote" and "beats v" in promotion["reason"]
        assert promotion["previous_version"] == registration_of(worse)["candidate"]["version"]
        assert final.revision == 2
        assert h.published() == []
