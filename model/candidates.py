"""The model pipelines cross-validation chooses from, built only from scikit-learn classes.

Their input is the matrix ``inference.input_fn`` produces (column 0 the sex code, columns 1-7
the numerics). Linear candidates one-hot the sex code and standardise the numerics first
(``ColumnTransformer``); tree candidates take the matrix as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sklearn.base import RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from model.code.abalone_features import NUMERIC_COLUMNS, SEX_CODES


def linear_pipeline(regressor: RegressorMixin) -> Pipeline:
    """One-hot sex code and standardised numerics, then ``regressor`` (for linear models)."""
    codes = sorted(SEX_CODES.values())
    preprocess = ColumnTransformer(
        [
            ("sex", OneHotEncoder(categories=[codes], handle_unknown="ignore", sparse_output=False), [0]),
            ("numeric", StandardScaler(), list(range(1, 1 + len(NUMERIC_COLUMNS)))),
        ],
        remainder="drop",
    )
    return Pipeline([("preprocess", preprocess), ("regressor", regressor)])


def tree_pipeline(regressor: RegressorMixin) -> Pipeline:
    """``regressor`` on the input matrix as it is.

    Trees split on thresholds, so scaling changes nothing and the sex code needs no one-hot
    (two splits separate any one code). Without a ColumnTransformer, predicting needs no
    pandas (scikit-learn 1.4's ColumnTransformer.transform imported it, 0.3 s at the first
    request; scikit-learn 1.9 imports it at its own import when it is installed, as in the image).
    """
    return Pipeline([("regressor", regressor)])


#: Name → factory(seed) of each model pipeline cross-validation chooses from.
CANDIDATES: Mapping[str, Callable[[int], Pipeline]] = {
    "ridge": lambda seed: linear_pipeline(Ridge(alpha=1.0)),
    "random_forest": lambda seed: tree_pipeline(
        RandomForestRegressor(n_estimators=100, min_samples_leaf=5, random_state=seed, n_jobs=-1)
    ),
    "hist_gradient_boosting": lambda seed: tree_pipeline(
        HistGradientBoostingRegressor(
            learning_rate=0.1,
            max_iter=100,
            max_leaf_nodes=15,
            min_samples_leaf=20,
            categorical_features=[0],
            random_state=seed,
        )
    ),
}


def single_threaded(pipeline: Pipeline) -> Pipeline:
    """Set every ``n_jobs`` to None (one thread) on a fitted pipeline.

    A random forest predicting on several threads adds the trees' outputs in whatever order
    the threads finish, so the same rows can differ in the last bits between calls. One
    thread makes every prediction reproducible bit for bit, whatever the batching; the
    serving container parallelises across requests (one worker per vCPU) instead.
    """
    params = {name: None for name in pipeline.get_params(deep=True) if name.endswith("n_jobs")}
    return pipeline.set_params(**params) if params else pipeline
