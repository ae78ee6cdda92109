"""Split a batch-transform input body into mini-batches the way ``MaxPayloadInMB`` bounds them.

SageMaker batch transform with ``SplitType: Line`` and ``BatchStrategy: MultiRecord`` sends
each request as a run of whole lines no larger than ``MaxPayloadInMB``. This module does the
same split for local runs (tests, benchmarks, the offline SageMaker runner): pure functions,
no I/O.

Sizes: SageMaker's "MB" is taken as a mebibyte, 2**20 bytes (assumption, stated in one place:
:data:`BYTES_PER_MB`). A line counts with its ``\\n`` terminator.
"""

from __future__ import annotations

from collections.abc import Iterator

#: Bytes in one unit of ``MaxPayloadInMB``.
BYTES_PER_MB = 1024 * 1024
#: SageMaker's bounds for ``MaxPayloadInMB`` (0 means "no limit, stream", which needs
#: chunked encoding and is not supported here).
MIN_PAYLOAD_MB = 1
MAX_PAYLOAD_MB = 100


class RecordTooLargeError(ValueError):
    """One line is larger than a whole mini-batch may be."""


def max_payload_bytes(max_payload_in_mb: int) -> int:
    """``MaxPayloadInMB`` in bytes, after checking it is a value SageMaker accepts here."""
    if isinstance(max_payload_in_mb, bool) or not isinstance(max_payload_in_mb, int):
        raise TypeError(f"MaxPayloadInMB must be an int, got {max_payload_in_mb!r}")
    if not MIN_PAYLOAD_MB <= max_payload_in_mb <= MAX_PAYLOAD_MB:
        raise ValueError(f"MaxPayloadInMB must be within {MIN_PAYLOAD_MB}..{MAX_PAYLOAD_MB}, got {max_payload_in_mb}")
    return max_payload_in_mb * BYTES_PER_MB


def split_lines(body: bytes, max_bytes: int) -> Iterator[bytes]:
    """Greedy split of ``body`` into chunks of whole lines, each at most ``max_bytes`` long.

    Every chunk but possibly the last ends with ``\\n``; the chunks concatenate back to
    ``body`` exactly; an empty body gives no chunks. Raises :class:`RecordTooLargeError`
    (naming the 1-based line) when a single line does not fit.
    """
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
    data = bytes(body)
    start, size = 0, len(data)
    while start < size:
        if size - start <= max_bytes:
            yield data[start:]
            return
        cut = data.rfind(b"\n", start, start + max_bytes)
        if cut == -1:
            end = data.find(b"\n", start)
            line_bytes = (size if end == -1 else end + 1) - start
            line = data.count(b"\n", 0, start) + 1
            raise RecordTooLargeError(f"line {line} is {line_bytes} bytes, more than a mini-batch's {max_bytes}")
        yield data[start : cut + 1]
        start = cut + 1


def mini_batches(body: bytes, max_payload_in_mb: int) -> list[bytes]:
    """``split_lines(body, MaxPayloadInMB in bytes)`` as a list."""
    return list(split_lines(body, max_payload_bytes(max_payload_in_mb)))
