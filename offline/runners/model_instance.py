"""One serving container of a batch transform: a worker process (:mod:`offline.runners.transform_worker`)
in the model environment, and the errors SageMaker would report for it."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import IO

from model.env import model_python
from offline.runners.transform_worker import BATCH, ERROR, OK, READY, read_frame, write_frame

WORKER_SCRIPT = Path(__file__).resolve().parent / "transform_worker.py"


class TransformError(Exception):
    """A failure SageMaker would report as the job's FailureReason."""


class ModelInstance:
    """One serving container: a worker process in the model environment holding the loaded model."""

    def __init__(self, model_dir: Path, log_path: Path, *, python: Path | None = None) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [str(python or model_python()), "-I", str(WORKER_SCRIPT), str(model_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"},
        )

    def wait_ready(self) -> None:
        """Block until ``model_fn`` has run; TransformError (AlgorithmError) if it failed."""
        kind, payload = self._receive()
        if kind == ERROR:
            raise TransformError(f"AlgorithmError: model_fn failed to load the model: {payload.decode()}")
        if kind != READY:
            raise TransformError(f"AlgorithmError: the model container answered {kind!r} instead of ready")

    def invoke(self, batch: bytes) -> bytes:
        """One mini-batch through the handlers; TransformError (ClientError) with the handler's error."""
        stdin = self._stdin()
        try:
            write_frame(stdin, BATCH, batch)
        except (BrokenPipeError, OSError):
            raise TransformError(self._died()) from None
        kind, payload = self._receive()
        if kind == ERROR:
            raise TransformError(f"ClientError: {payload.decode()}")
        if kind != OK:
            raise TransformError(f"AlgorithmError: the model container answered {kind!r} to a request")
        return payload

    def close(self, timeout: float = 10.0) -> None:
        """End the worker (stdin closed: it exits 0); kill it if it does not."""
        if self.process.stdin and not self.process.stdin.closed:
            with contextlib.suppress(OSError):  # a dead worker: its pipe is broken
                self.process.stdin.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_streams()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_streams()

    def _close_streams(self) -> None:
        if self.process.stdout:
            self.process.stdout.close()
        self._log.close()

    def _stdin(self) -> IO[bytes]:
        assert self.process.stdin is not None
        return self.process.stdin

    def _receive(self) -> tuple[bytes, bytes]:
        assert self.process.stdout is not None
        try:
            frame = read_frame(self.process.stdout)
        except (EOFError, OSError, ValueError):
            frame = None
        if frame is None:
            raise TransformError(self._died())
        return frame

    def _died(self) -> str:
        try:
            code = self.process.wait(10)
        except subprocess.TimeoutExpired:
            code = None
        self._log.flush()
        tail = " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-5:])
        return f"AlgorithmError: the model container exited (code {code}): {tail or 'no output'}"
