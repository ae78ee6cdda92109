"""What training measures: RMSE and MAE per candidate (cross-validation) and on the hold-out.

Written as ``metrics.json`` beside the model; :func:`format_report` prints it as a small table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

METRICS_FILENAME = "metrics.json"


@dataclass(frozen=True)
class Score:
    """RMSE and MAE in rings (CV: mean and standard deviation over the folds)."""

    rmse: float
    mae: float
    rmse_std: float | None = None
    mae_std: float | None = None


@dataclass(frozen=True)
class Metrics:
    """What training measured; written as ``metrics.json`` beside the model."""

    chosen: str
    cv: dict[str, Score]  # every candidate, plus "mean_predictor"
    holdout: Score  # the chosen model on the 20 % hold-out
    holdout_mean_predictor: Score
    n_rows: int
    n_train: int
    n_test: int
    folds: int
    seed: int
    data_sha256: str
    versions: dict[str, str]
    train_seconds: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> Metrics:
        values = dict(doc)
        values["cv"] = {k: Score(**v) for k, v in dict(values["cv"]).items()}  # type: ignore[call-overload]
        values["holdout"] = Score(**values["holdout"])  # type: ignore[arg-type]
        values["holdout_mean_predictor"] = Score(**values["holdout_mean_predictor"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def score(y_true: object, y_pred: np.ndarray) -> Score:
    """RMSE and MAE of ``y_pred`` against ``y_true``."""
    return Score(rmse=float(root_mean_squared_error(y_true, y_pred)), mae=float(mean_absolute_error(y_true, y_pred)))


def format_report(metrics: Metrics) -> str:
    """A small text table of the CV and hold-out figures."""
    lines = [f"{'model':<24}{'cv rmse':>14}{'cv mae':>10}", "-" * 48]
    for name, score in sorted(metrics.cv.items(), key=lambda item: item[1].rmse):
        mark = " *" if name == metrics.chosen else ""
        lines.append(f"{name:<24}{score.rmse:>8.3f} ±{score.rmse_std or 0:.2f}{score.mae:>10.3f}{mark}")
    chosen, mean = metrics.holdout, metrics.holdout_mean_predictor
    lines.append("")
    lines.append(
        f"hold-out ({metrics.n_test} rows): {metrics.chosen} rmse {chosen.rmse:.3f} mae {chosen.mae:.3f}; "
        f"mean predictor rmse {mean.rmse:.3f} mae {mean.mae:.3f}"
    )
    return "\n".join(lines)
