"""The in-process Lambdas' structured log lines (Powertools JSON on stdout, as in CloudWatch) sent to a file."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class _FunctionLogs(io.TextIOBase):
    """stdout that sends the functions' structured (JSON) log lines to a file, the rest through.

    A logging handler bound to it while it was ``sys.stdout`` keeps it after the block ends:
    from then on (``detach``) every line passes through.
    """

    def __init__(self, through: Any, log_file: Any) -> None:
        self._through, self._file, self._pending, self.lines = through, log_file, "", 0

    def write(self, text: str) -> int:
        self._pending += text
        *complete, self._pending = self._pending.split("\n")
        for line in complete:
            if self._file is not None and line.startswith('{"level"'):
                self._file.write(line + "\n")
                self.lines += 1
            else:
                self._through.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        if not getattr(self._through, "closed", False):
            self._through.flush()
        if self._file is not None:
            self._file.flush()

    def detach(self) -> None:  # type: ignore[override]  # not TextIOBase.detach: stops the log split
        self.flush()
        self._file = None


@contextlib.contextmanager
def function_logs_to(path: Path) -> Iterator[_FunctionLogs]:
    """Route the in-process Lambdas' Powertools log lines (JSON on stdout, as in CloudWatch) to ``path``.

    Powertools binds its handler to ``sys.stdout`` when a handler module is imported, which the
    harness does at the first invocation, inside this block.
    """
    with path.open("w") as log_file:
        splitter = _FunctionLogs(sys.stdout, log_file)
        try:
            with contextlib.redirect_stdout(splitter):
                yield splitter
        finally:
            splitter.detach()
