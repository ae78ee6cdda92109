"""The quality gate and the promotion race rule (training/gate.py): which model may become production."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transient_analytics.training.gate import Scored, beats, claim, gate

ROWS = "a" * 64
OTHER_ROWS = "b" * 64
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/stack-abalone/{}"


def scored(version: int, rmse: float | None, rows: str | None = ROWS, unscored: str | None = None) -> Scored:
    return Scored(version, rmse, rows, unscored)


# ------------------------------------------------------------------ the gate
def test_without_a_production_model_the_first_candidate_is_approved():
    decision = gate(scored(1, 2.3), None, threshold=0.01, holdout_rows=836)
    assert decision.approve and "no production model yet" in decision.reason


def test_a_candidate_better_by_at_least_the_threshold_is_approved_naming_both_scores():
    decision = gate(scored(2, 2.20), scored(1, 2.25), threshold=0.05, holdout_rows=836)
    assert decision.approve
    assert "2.2000 vs 2.2500" in decision.reason and "836 hold-out rows" in decision.reason


@pytest.mark.parametrize(
    ("candidate", "incumbent", "threshold"), [(2.21, 2.22, 0.02), (2.22, 2.22, 0.0), (2.3, 2.2, 0.0)]
)
def test_a_candidate_not_better_by_the_threshold_is_left_to_a_person(candidate, incumbent, threshold):
    decision = gate(scored(2, candidate), scored(1, incumbent), threshold=threshold, holdout_rows=836)
    assert not decision.approve
    assert f"{candidate:.4f} vs {incumbent:.4f}" in decision.reason


def test_an_equal_score_never_wins_even_with_a_zero_threshold():
    assert not beats(2.2, 2.2, 0.0)
    assert beats(2.19, 2.2, 0.0)


def test_a_production_model_that_could_not_be_scored_leaves_the_candidate_to_a_person_with_the_reason():
    incumbent = scored(4, None, None, unscored="trained with scikit-learn 1.4.2, this container has 1.9.0")
    decision = gate(scored(5, 1.0), incumbent, threshold=0.01, holdout_rows=836)
    assert not decision.approve
    assert "v4 could not be scored" in decision.reason and "1.9.0" in decision.reason


def test_a_negative_threshold_is_refused():
    with pytest.raises(ValueError, match="threshold"):
        gate(scored(1, 2.0), None, threshold=-0.1, holdout_rows=10)


# ------------------------------------------------------------------ the race rule
def test_a_claim_from_the_model_it_was_gated_against_is_promoted():
    decision = claim(scored(3, 2.1), ARN.format(3), ARN.format(2), scored(2, 2.2), ARN.format(2), 0.01)
    assert decision.outcome == "promote"


def test_a_retried_claim_that_already_took_effect_is_reported_promoted_without_a_second_swap():
    decision = claim(scored(3, 2.1), ARN.format(3), ARN.format(2), scored(3, 2.1), ARN.format(3), 0.01)
    assert decision.outcome == "already" and decision.promoted


def test_when_production_moved_to_a_better_model_on_the_same_rows_the_candidate_is_superseded():
    # GIVEN v3 and v4 both gated against v2; v4 (2.05) won the race
    decision = claim(scored(3, 2.10), ARN.format(3), ARN.format(2), scored(4, 2.05), ARN.format(4), 0.01)
    assert decision.outcome == "superseded" and not decision.promoted
    assert "moved to v4" in decision.reason


def test_when_production_moved_to_a_worse_model_on_the_same_rows_the_better_candidate_still_replaces_it():
    # GIVEN v3 (2.05) and v4 (2.10) both gated against v2; v4 won the race
    decision = claim(scored(3, 2.05), ARN.format(3), ARN.format(2), scored(4, 2.10), ARN.format(4), 0.01)
    assert decision.outcome == "promote"
    assert "beats v4 too" in decision.reason


def test_when_production_moved_to_a_model_scored_on_other_rows_the_candidate_is_left_to_a_person():
    decision = claim(scored(3, 1.0), ARN.format(3), ARN.format(2), scored(4, 2.1, OTHER_ROWS), ARN.format(4), 0.01)
    assert decision.outcome == "incomparable" and "other hold-out rows" in decision.reason


def test_a_persons_approval_replaces_whatever_production_is():
    decision = claim(scored(3, 9.9), ARN.format(3), None, scored(4, 1.0), ARN.format(4), 0.01, manual=True)
    assert decision.outcome == "promote" and "approved by a person" in decision.reason


@given(
    rmses=st.lists(st.floats(min_value=1.0, max_value=4.0, allow_nan=False), min_size=2, max_size=5),
    threshold=st.sampled_from([0.0, 0.01, 0.05]),
    order=st.randoms(use_true_random=False),
)
def test_racing_candidates_on_the_same_rows_never_leave_production_on_a_worse_one(rmses, threshold, order):
    """Every candidate passed the gate against v1 on the same rows; they claim in any order.

    Each swap moves production to a model better than the one it replaces by the threshold, so
    production only improves, and it ends within the threshold of the best candidate."""
    candidates = [(scored(i + 2, r), ARN.format(i + 2)) for i, r in enumerate(rmses)]
    order.shuffle(candidates)
    production, production_arn = scored(1, 5.0), ARN.format(1)
    history = []
    for candidate, arn in candidates:
        decision = claim(candidate, arn, ARN.format(1), production, production_arn, threshold)
        if decision.promoted:
            history.append(candidate.rmse)
            production, production_arn = candidate, arn
    assert history, "the first claim is always from the model it was gated against"
    assert all(beats(later, earlier, threshold) for earlier, later in itertools.pairwise(history))
    assert production.rmse <= min(rmses) + threshold
