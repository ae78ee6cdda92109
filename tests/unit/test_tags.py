"""Tag values: any execution name StartExecution accepts gives a tag SageMaker and EMR accept."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transient_analytics import tags

#: SageMaker's TagValue pattern (botocore's sagemaker model), in Python terms: letters, numbers,
#: separators and _ . : / = + - @, at most 256 characters.
ALLOWED_SYMBOLS = set("_.:/=+-@")
#: Characters StartExecution forbids in a name (Step Functions API reference, StartExecution name).
FORBIDDEN_IN_NAMES = ' <>{}[]?*"#%\\^|~`$&,;:/'
execution_names = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), blacklist_characters=FORBIDDEN_IN_NAMES
    ),
    min_size=1,
    max_size=80,
)
state_machine_names = st.from_regex(r"[A-Za-z0-9_-]{1,80}", fullmatch=True)
any_text = st.text(min_size=0, max_size=400)


def arn(state_machine: str, name: str) -> str:
    return f"arn:aws:states:us-east-1:123456789012:execution:{state_machine}:{name}"


def sagemaker_accepts(value: str) -> bool:
    import unicodedata

    return len(value) <= 256 and all(c in ALLOWED_SYMBOLS or unicodedata.category(c)[0] in "LNZ" for c in value)


@settings(max_examples=500)
@given(sm=state_machine_names, name=execution_names)
def test_every_execution_name_gives_a_tag_value_sagemaker_and_emr_accept(sm, name):
    value = tags.execution_tag_value(arn(sm, name))
    assert sagemaker_accepts(value)
    assert tags.is_tag_safe(value)


@settings(max_examples=500)
@given(sm=state_machine_names, name=execution_names)
def test_a_tag_safe_execution_arn_is_kept_as_it_is(sm, name):
    execution = arn(sm, name)
    if sagemaker_accepts(execution):
        assert tags.execution_tag_value(execution) == execution
    else:
        # a rewritten ARN carries '/', which no ARN holds: it can never equal an unchanged one
        assert "/" in tags.execution_tag_value(execution) and "/" not in execution


@settings(max_examples=300)
@given(sm=state_machine_names, a=execution_names, b=execution_names)
def test_two_executions_never_share_a_tag_value(sm, a, b):
    if a != b:
        assert tags.execution_tag_value(arn(sm, a)) != tags.execution_tag_value(arn(sm, b))


@settings(max_examples=300)
@given(value=any_text)
def test_tag_safe_is_idempotent_and_always_valid(value):
    safe = tags.tag_safe(value)
    assert tags.is_tag_safe(safe)
    assert tags.tag_safe(safe) == safe


def test_names_that_differ_only_in_forbidden_characters_get_different_tags():
    # '(' and ')' and '!' all become '_': the digest keeps the executions apart
    one, two = arn("sm", "run(1)"), arn("sm", "run!1!")
    assert tags.execution_tag_value(one) != tags.execution_tag_value(two)
    assert re.fullmatch(
        r"arn:aws:states:us-east-1:123456789012:execution:sm:run_1_/[0-9a-f]{16}", tags.execution_tag_value(one)
    )


def test_an_overlong_value_is_cut_to_256_characters_with_its_digest():
    value = tags.tag_safe("é(" * 200)
    assert len(value) == 256 and value[-17] == "/"


def test_an_empty_execution_arn_is_refused():
    with pytest.raises(ValueError, match="execution_arn must not be empty"):
        tags.execution_tag_value("")
