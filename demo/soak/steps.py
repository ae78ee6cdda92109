"""The soak's runners behind the ``.sync`` tasks: the Spark step (real Spark first, then simulated), the
cluster start, the transform job; and the one count that must never move: two steps converting one slot.

The step marks every slot of its batch as being converted from its start to its end (across the
step's whole life, held or not); a step that starts on a slot another live step is converting is
counted in :attr:`SoakStep.overlapping` (the ledger's claims must keep it at 0).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from offline.integrations import TaskContext, TaskFailure
from offline.runners.emr import EmrRunner
from offline.runners.s3 import list_keys, parse_s3_uri
from offline.runners.simulated_step import SimulatedSparkStep, slot_args


@dataclass
class SoakStep:
    """``addStep.sync``: the real Spark job for the first ``real_left`` steps, then the simulated job."""

    emr: EmrRunner
    simulated: SimulatedSparkStep
    real_left: int = 1
    #: Steps that started converting a slot another live step was converting (must stay 0).
    overlapping: list[str] = field(default_factory=list)
    #: Set by the soak for the next step: hold it (after marking its slots) until released or cancelled.
    hold_next: bool = False
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    real_runs: int = 0
    _active: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, parameters: dict[str, Any], context: TaskContext) -> Any:
        slots = [s[0] for s in slot_args([str(a) for a in parameters["Step"]["HadoopJarStep"]["Args"]])]
        with self._lock:
            self.overlapping += [s for s in slots if self._active.get(s)]
            for s in slots:
                self._active[s] = self._active.get(s, 0) + 1
        try:
            if self.hold_next:
                self.hold_next = False
                self.held.set()
                while not self.release.wait(0.02) and not context.cancelled():
                    pass
                self.release.clear()
            if self.real_left > 0 and not self.simulated.crash_at.intersection(slots):
                self.real_left -= 1
                self.real_runs += 1
                return self.emr.add_step(parameters, context)
            return self.simulated(parameters, context)
        finally:
            with self._lock:
                for s in slots:
                    self._active[s] -= 1


@dataclass
class SoakClusters:
    """``createCluster.sync``: the twin's EMR runner (a moto cluster), or a cluster that fails to start."""

    emr: EmrRunner
    fail_next: bool = False

    def __call__(self, parameters: dict[str, Any], context: TaskContext) -> Any:
        if self.fail_next:
            self.fail_next = False
            reason = {"Code": "VALIDATION_ERROR", "Message": "The requested number of instances exceeds your limit"}
            cause = {"Status": {"State": "TERMINATED_WITH_ERRORS", "StateChangeReason": reason}}
            raise TaskFailure("States.TaskFailed", json.dumps(cause))
        return self.emr.create_cluster(parameters, context)


@dataclass
class SoakTransform:
    """``createTransformJob.sync``, simulated: each input row with a prediction appended, or a failed job."""

    region: str
    fail_slots: set[str] = field(default_factory=set)
    jobs: list[str] = field(default_factory=list)

    def __call__(self, parameters: dict[str, Any], context: TaskContext) -> Any:
        name = parameters["TransformJobName"]
        source = parameters["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        self.jobs.append(name)
        if any(f"dt={slot[:10]}/" in source for slot in self.fail_slots):
            reason = "ClientError: See job logs for more details: line 1, field 'length': 'x' is not a number"
            raise TaskFailure("States.TaskFailed", json.dumps({"TransformJobName": name, "FailureReason": reason}))
        s3 = boto3.client("s3", region_name=self.region)
        bucket, prefix = parse_s3_uri(source)
        out_bucket, out_prefix = parse_s3_uri(parameters["TransformOutput"]["S3OutputPath"])
        for key in list_keys(s3, bucket, prefix):
            rows = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
            body = "".join(f"{row},9.5\n" for row in rows)
            s3.put_object(Bucket=out_bucket, Key=out_prefix + key.rsplit("/", 1)[-1] + ".out", Body=body.encode())
        started = datetime.now(UTC)
        return {
            "TransformJobName": name,
            "TransformJobStatus": "Completed",
            "TransformStartTime": started.isoformat(),
            "TransformEndTime": (started + timedelta(minutes=6)).isoformat(),
        }
