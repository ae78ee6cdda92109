"""The model's input: the abalone feature columns in batch-row order and the sex encoding.

Shipped in model.tar.gz's ``code/`` beside ``inference.py`` (standard library only); training
(``model.data``, ``model.train``) and the Glue catalog read the same definitions from here.
"""

from __future__ import annotations

SEX_COLUMN = "sex"
NUMERIC_COLUMNS = (
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
)
FEATURE_COLUMNS = (SEX_COLUMN, *NUMERIC_COLUMNS)
SEX_VALUES = ("M", "F", "I")
#: Column 0 of the model's input: the one-hot encoder's categories in sorted order, as the
#: Pipeline fitted on the strings F, I, M would order them.
SEX_CODES = {"F": 0.0, "I": 1.0, "M": 2.0}
#: The model's input width: the sex code, then the numerics.
WIDTH = len(FEATURE_COLUMNS)
