"""An EMR step's files: its ``s3://`` arguments mapped to ``<workdir>/<bucket>/<key>``, its outputs synced back.

Each ``--slot`` input is downloaded; its output folder is pre-filled with the slot's objects (so
dynamic overwrite and vanished partitions behave as on S3) and synced back after the step;
``--report`` is uploaded whether the step succeeded or not. Local paths in the JSON the job
writes are mapped back to the URIs they stand for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.runners.s3 import as_prefix, download_prefix, object_exists, parse_s3_uri


@dataclass
class SyncedFolder:
    """A slot's output: the S3 prefix, its local folder and what was downloaded into it
    (relative path → (size, mtime_ns)), so that only what the job changed goes back."""

    uri: str
    folder: Path
    prefilled: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass
class LocalizedStep:
    """The step's arguments with local paths, and what to copy back to S3 after it."""

    args: list[str]
    workdir: Path
    outputs: list[SyncedFolder] = field(default_factory=list)
    report: tuple[str, Path] | None = None

    def to_s3(self, text: str) -> str:
        """``text`` with every local path of the work folder written as the s3:// URI it maps."""
        root = str(self.workdir).rstrip("/") + "/"
        for local in (f"file://{root}", f"file:{root}", root):
            text = text.replace(local, "s3://")
        return text


def _hidden(relative: str) -> bool:
    """Hadoop's ``.crc`` and Spark's ``.spark-staging-*`` files stay local."""
    return any(part.startswith(".") for part in relative.split("/"))


class StepFiles:
    """Localizes a step's arguments and syncs its outputs back, through one S3 client."""

    def __init__(self, s3: Any, progress: Callable[[str], None]) -> None:
        self.s3 = s3
        self.progress = progress

    def localize(self, args: list[str], workdir: Path) -> LocalizedStep:
        """Map every s3:// argument of the job to a path under ``workdir`` (``<bucket>/<key>``).

        ``--slot ID INPUT OUTPUT FINGERPRINT``: the input is downloaded, the output folder is
        pre-filled with the objects under the output prefix; ``--report URI``: a local file
        (its folder created); any other s3:// argument (the schema) is downloaded.
        """
        localized = LocalizedStep(args=[], workdir=workdir)
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--slot" and i + 4 < len(args):
                slot_id, source, output, fingerprint = args[i + 1 : i + 5]
                localized.args += ["--slot", slot_id, self._download(source, workdir)]
                localized.args += [self._prefill(output, workdir, localized), fingerprint]
                i += 5
                continue
            if arg == "--report" and i + 1 < len(args) and args[i + 1].startswith("s3://"):
                target = self._local_path(args[i + 1], workdir)
                target.parent.mkdir(parents=True, exist_ok=True)
                localized.report = (args[i + 1], target)
                localized.args += ["--report", str(target)]
                i += 2
                continue
            localized.args.append(self._download(arg, workdir) if arg.startswith("s3://") else arg)
            i += 1
        return localized

    @staticmethod
    def _local_path(uri: str, workdir: Path) -> Path:
        bucket, key = parse_s3_uri(uri)
        return workdir / bucket / key

    @staticmethod
    def _as_given(uri: str, target: Path) -> str:
        """The local path, keeping the URI's trailing slash (the job derives the manifest's name from it)."""
        return str(target) + ("/" if uri.endswith("/") else "")

    def _download(self, uri: str, workdir: Path) -> str:
        """Copy one object, or every object under a prefix, to its local path; return that path."""
        if not uri.startswith("s3://"):
            return uri
        bucket, key = parse_s3_uri(uri)
        target = self._local_path(uri, workdir)
        if object_exists(self.s3, bucket, key):
            target.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(bucket, key, str(target))
        elif download_prefix(self.s3, bucket, key, target) == 0:
            self.progress(f"no objects under {uri}")
        return self._as_given(uri, target)

    def _prefill(self, uri: str, workdir: Path, localized: LocalizedStep) -> str:
        """A slot's output folder holding the slot's existing objects, registered for the sync back."""
        if not uri.startswith("s3://"):
            return uri
        bucket, key = parse_s3_uri(uri)
        target = self._local_path(uri, workdir)
        target.mkdir(parents=True, exist_ok=True)
        download_prefix(self.s3, bucket, as_prefix(key), target)
        prefilled = {
            p.relative_to(target).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in target.rglob("*")
            if p.is_file()
        }
        localized.outputs.append(SyncedFolder(uri=uri, folder=target, prefilled=prefilled))
        return self._as_given(uri, target)

    def sync_back(self, localized: LocalizedStep) -> tuple[int, int]:
        """Upload the outputs' new and changed files and the report; delete the objects the job
        deleted; hidden files stay local. Returns (objects uploaded, objects deleted)."""
        uploaded = deleted = 0
        for synced in localized.outputs:
            bucket, prefix = parse_s3_uri(synced.uri)
            prefix = as_prefix(prefix)
            present = set()
            for path in sorted(synced.folder.rglob("*")):
                relative = path.relative_to(synced.folder).as_posix()
                if not path.is_file() or _hidden(relative):
                    continue
                present.add(relative)
                stat = path.stat()
                if synced.prefilled.get(relative) == (stat.st_size, stat.st_mtime_ns):
                    continue
                self._put_file(localized, path, bucket, prefix + relative)
                uploaded += 1
            for relative in sorted(set(synced.prefilled) - present):
                if not _hidden(relative):
                    self.s3.delete_object(Bucket=bucket, Key=prefix + relative)
                    deleted += 1
        if localized.report is not None:
            uri, path = localized.report
            if path.is_file():
                bucket, key = parse_s3_uri(uri)
                self._put_file(localized, path, bucket, key)
                uploaded += 1
            else:
                self.progress(f"the step wrote no report to {uri}")
        return uploaded, deleted

    def _put_file(self, localized: LocalizedStep, path: Path, bucket: str, key: str) -> None:
        """Upload one file; the job's JSON documents get their local paths mapped back to s3://."""
        if path.suffix == ".json":
            self.s3.put_object(Bucket=bucket, Key=key, Body=localized.to_s3(path.read_text()).encode())
        else:
            self.s3.upload_file(str(path), bucket, key)
