"""The quality gate and the promotion race rule: which model may become production. Pure: no clock, no AWS.

**The gate** (:func:`gate`) compares a candidate with the production model it was trained against, on
the candidate's own hold-out rows (the training job scores both: ``model/train_entry.py``):

* no production model yet: the candidate is approved (something must serve);
* production could not be scored on those rows (its artifact does not load in this image, e.g.
  after an image upgrade): not approved, a person decides;
* otherwise approved only if it beats production's RMSE by at least the threshold
  (``improvement = incumbent - candidate >= threshold`` and ``improvement > 0``: an equal score never wins).

**The race rule** (:func:`claim`): a promotion is a compare-and-swap of the production pointer from
the model the candidate was gated against. If production moved in between (another training won
first), the candidate is compared with the *new* production model — but only when both were scored on
the same hold-out rows (equal digests), since scores on different rows say nothing about each other:

* same rows and it beats the new production model by the threshold: promote (from that one);
* same rows and it does not: ``superseded`` (production is as good, or better);
* different rows: ``incomparable`` — left for a person, with both scores.

So two racing trainings never both become production (each swap names the pointer's revision it
read, so only one succeeds per revision), and production only ever moves to a model that beat the
model it replaces on rows both were scored on — never to the worse of two comparable candidates.
A person's approval (``manual``) swaps from whatever production is, scores aside.

Caveat, documented rather than hidden: when the incumbent was trained on other data than the
candidate, some of the candidate's hold-out rows may have been the incumbent's training rows, which
flatters the incumbent. The rule then errs towards keeping production (no worse model is ever
promoted automatically); a person can still approve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ClaimOutcome = Literal["promote", "already", "superseded", "incomparable"]
#: Scores differ from their decimal reading in the last bits (2.25 - 2.20 < 0.05 in binary floating point).
EPSILON = 1e-9


@dataclass(frozen=True)
class Scored:
    """A model's hold-out RMSE, and which rows it was measured on."""

    version: int
    rmse: float | None
    holdout_sha256: str | None
    unscored: str | None = None


@dataclass(frozen=True)
class GateDecision:
    approve: bool
    reason: str


@dataclass(frozen=True)
class ClaimDecision:
    outcome: ClaimOutcome
    reason: str

    @property
    def promoted(self) -> bool:
        return self.outcome in ("promote", "already")


def improvement(candidate_rmse: float, incumbent_rmse: float) -> float:
    """How much lower the candidate's RMSE is (positive: better)."""
    return incumbent_rmse - candidate_rmse


def beats(candidate_rmse: float, incumbent_rmse: float, threshold: float) -> bool:
    """Whether the candidate is better by at least ``threshold`` (and better at all)."""
    gain = improvement(candidate_rmse, incumbent_rmse)
    return gain > EPSILON and gain >= threshold - EPSILON


def gate(candidate: Scored, incumbent: Scored | None, threshold: float, holdout_rows: int) -> GateDecision:
    """The gate's decision for a candidate trained against ``incumbent`` (None: no production model)."""
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    if candidate.rmse is None:
        raise ValueError("the candidate has no hold-out RMSE")
    if incumbent is None:
        return GateDecision(True, f"no production model yet: v{candidate.version} is the first")
    if incumbent.rmse is None:
        why = incumbent.unscored or "no score"
        return GateDecision(
            False, f"production v{incumbent.version} could not be scored on this hold-out ({why}): a person decides"
        )
    rows = f"the same {holdout_rows} hold-out rows"
    if beats(candidate.rmse, incumbent.rmse, threshold):
        return GateDecision(
            True,
            f"beats production v{incumbent.version} by {improvement(candidate.rmse, incumbent.rmse):.4f} rings "
            f"RMSE ({candidate.rmse:.4f} vs {incumbent.rmse:.4f} on {rows}; threshold {threshold:g})",
        )
    return GateDecision(
        False,
        f"does not beat production v{incumbent.version} by {threshold:g} rings RMSE "
        f"({candidate.rmse:.4f} vs {incumbent.rmse:.4f} on {rows})",
    )


def claim(
    candidate: Scored,
    candidate_arn: str,
    gated_against: str | None,
    current: Scored | None,
    current_arn: str | None,
    threshold: float,
    *,
    manual: bool = False,
) -> ClaimDecision:
    """Whether a candidate may swap the production pointer now (see the module's race rule).

    ``gated_against`` is the package production was when the candidate was gated (None: none);
    ``current``/``current_arn`` what the pointer holds now.
    """
    if current_arn == candidate_arn:
        return ClaimDecision("already", f"v{candidate.version} is already production")
    if manual:
        was = f"v{current.version}" if current else "no production model"
        return ClaimDecision("promote", f"approved by a person: replaces {was}")
    if current_arn == gated_against:
        return ClaimDecision("promote", "production is still the model it was gated against")
    if current is None:
        return ClaimDecision("incomparable", "production was removed after this candidate was gated: a person decides")
    moved = f"production moved to v{current.version} after this candidate was gated"
    if current.rmse is None or current.holdout_sha256 is None or current.holdout_sha256 != candidate.holdout_sha256:
        return ClaimDecision(
            "incomparable",
            f"{moved}; v{current.version} was scored on other hold-out rows, so the two scores cannot be "
            "compared: a person decides",
        )
    if candidate.rmse is not None and beats(candidate.rmse, current.rmse, threshold):
        return ClaimDecision(
            "promote",
            f"{moved}, and it beats v{current.version} too ({candidate.rmse:.4f} vs {current.rmse:.4f} "
            f"on the same hold-out rows; threshold {threshold:g})",
        )
    return ClaimDecision(
        "superseded",
        f"{moved}, which is as good or better on the same hold-out rows "
        f"({current.rmse:.4f} vs this candidate's {candidate.rmse:.4f}; threshold {threshold:g})",
    )
