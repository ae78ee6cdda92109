"""Mini-batching a transform input at MaxPayloadInMB on line boundaries."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.batching import BYTES_PER_MB, RecordTooLargeError, max_payload_bytes, mini_batches, split_lines
from model.code import inference
from model.data import BATCH_PATH

_lines = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(lines=_lines, final_newline=st.booleans(), max_bytes=st.integers(min_value=41, max_value=400))
def test_chunks_are_whole_lines_within_the_limit_and_rejoin_to_the_body(
    lines: list[bytes], final_newline: bool, max_bytes: int
) -> None:
    body = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    chunks = list(split_lines(body, max_bytes))
    assert b"".join(chunks) == body
    assert all(0 < len(chunk) <= max_bytes for chunk in chunks)
    assert all(chunk.endswith(b"\n") for chunk in chunks[:-1])
    # greedy: the next chunk's first line would not have fitted in the previous chunk
    for previous, following in zip(chunks, chunks[1:], strict=False):
        first_line = following.split(b"\n", 1)[0] + (b"\n" if b"\n" in following else b"")
        assert len(previous) + len(first_line) > max_bytes


def test_an_empty_body_gives_no_chunks() -> None:
    assert list(split_lines(b"", 10)) == []


def test_a_body_that_fits_is_one_chunk_unchanged() -> None:
    body = BATCH_PATH.read_bytes()
    assert mini_batches(body, 1) == [body]


def test_a_line_longer_than_the_limit_is_rejected_naming_it() -> None:
    body = b"short\n" + b"x" * 20 + b"\nshort\n"
    with pytest.raises(RecordTooLargeError, match="line 2 is 21 bytes, more than a mini-batch's 10"):
        list(split_lines(body, 10))


@pytest.mark.parametrize("value", [0, 101, -1])
def test_max_payload_outside_sagemakers_range_is_rejected(value: int) -> None:
    with pytest.raises(ValueError, match="MaxPayloadInMB must be within 1..100"):
        max_payload_bytes(value)


def test_max_payload_is_counted_in_mebibytes() -> None:
    assert max_payload_bytes(6) == 6 * BYTES_PER_MB == 6_291_456


def test_mini_batches_give_the_same_predictions_as_one_call(loaded_model: object) -> None:
    # GIVEN a body of 3.2 MB (the batch file tiled 20 times) split at MaxPayloadInMB=1
    body = BATCH_PATH.read_bytes() * 20
    batches = mini_batches(body, 1)
    assert len(batches) == 4 and all(len(b) <= BYTES_PER_MB for b in batches)

    def run(payload: bytes) -> str:
        data = inference.input_fn(payload, "text/csv")
        return inference.output_fn(inference.predict_fn(data, loaded_model), "text/csv")

    # WHEN each mini-batch is scored separately and the responses are assembled by line
    assembled = "".join(run(batch) for batch in batches)
    # THEN the result is byte-identical to scoring the whole body in one call
    whole = run(body)
    assert assembled == whole
    assert len(whole.splitlines()) == 20 * 4177
    assert np.isfinite(np.array(whole.split(), dtype=float)).all()
