"""One instance of the serving container: ``<model env python> -I transform_worker.py MODEL_DIR``.

Isolated (``-I``) like the container, it imports ``MODEL_DIR/code/inference.py``, runs ``model_fn``
once, then ``input_fn → predict_fn → output_fn`` per mini-batch. Frames on stdin/stdout: a kind
byte and a 4-byte big-endian length, then the payload. Worker → runner: ``R`` ready or ``E``
model_fn's error (then exit 3); per batch ``O`` the response or ``E`` the handler's error. Runner
→ worker: ``B`` a batch; closing stdin ends it. Handlers' output goes to stderr; no socket may
connect, resolve or bind (network isolation). Standard library only, Python 3.12 syntax."""

from __future__ import annotations

import os
import struct
import sys
from typing import IO

HEADER = struct.Struct(">cI")
READY, BATCH, OK, ERROR = b"R", b"B", b"O", b"E"
CONTENT_TYPE = ACCEPT = "text/csv"


def read_frame(stream: IO[bytes]) -> tuple[bytes, bytes] | None:
    """(kind, payload), or None at a clean end of stream; EOFError if it ends inside a frame."""
    header = stream.read(HEADER.size)
    if not header:
        return None
    if len(header) < HEADER.size:
        raise EOFError("stream ended inside a frame header")
    kind, length = HEADER.unpack(header)
    payload = stream.read(length)
    if len(payload) < length:
        raise EOFError(f"stream ended after {len(payload)} of {length} payload bytes")
    return kind, payload


def write_frame(stream: IO[bytes], kind: bytes, payload: bytes = b"") -> None:
    stream.write(HEADER.pack(kind, len(payload)) + payload)
    stream.flush()


def _network_isolation(event: str, args: tuple[object, ...]) -> None:
    """Audit hook: the model runs with EnableNetworkIsolation, so no socket may connect here either."""
    if event in ("socket.connect", "socket.getaddrinfo", "socket.bind"):
        raise PermissionError(f"{event}: the model container runs with network isolation")


def _describe(exc: BaseException) -> bytes:
    return f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: transform_worker.py MODEL_DIR\n")
        return 2
    model_dir = argv[0]
    # The protocol gets the real stdout; fd 1 (print, logging to stdout) goes to stderr.
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    sys.addaudithook(_network_isolation)
    try:
        sys.path.insert(0, os.path.join(model_dir, "code"))
        import inference  # noqa: PLC0415 - the artifact's code, found only at run time

        model = inference.model_fn(model_dir)
    except Exception as exc:  # reported to the runner, which fails the job with it
        write_frame(protocol, ERROR, _describe(exc))
        return 3
    write_frame(protocol, READY)
    while True:
        frame = read_frame(requests)
        if frame is None:
            return 0
        kind, payload = frame
        if kind != BATCH:
            write_frame(protocol, ERROR, f"ProtocolError: unexpected frame kind {kind!r}".encode())
            continue
        try:
            response = inference.output_fn(
                inference.predict_fn(inference.input_fn(payload, CONTENT_TYPE), model), ACCEPT
            )
        except Exception as exc:  # the container answers the request with the error
            write_frame(protocol, ERROR, _describe(exc))
            continue
        write_frame(protocol, OK, response.encode("utf-8") if isinstance(response, str) else bytes(response))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
