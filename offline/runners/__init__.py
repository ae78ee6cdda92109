"""Local runners behind the ``.sync`` integrations: the real work, done on this machine.

Registered with :class:`offline.harness.OfflineHarness` (``LocalRunners(...).register(h)``), they
stand in for EMR (:mod:`offline.runners.emr`: a moto cluster, the step's ``spark-submit`` on
local Spark) and SageMaker (:mod:`offline.runners.sagemaker`: the real artifact's
``code/inference.py`` in the model environment, one process per instance) and keep to what those
services would do, failures included: a Spark or model error is ``States.TaskFailed`` with the
step's or job's description as the cause, an invalid request the service's exception name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from offline.integrations import TaskContext
from offline.runners.emr import (
    EMR_ADD_STEP,
    EMR_CREATE,
    EMR_TERMINATE,
    EmrRunner,
    StepRecord,
    cluster_request_problems,
)
from offline.runners.model_instance import ModelInstance, TransformError
from offline.runners.s3 import parse_s3_uri
from offline.runners.sagemaker import (
    SAGEMAKER_ERROR,
    SAGEMAKER_TRANSFORM,
    TransformRecord,
    TransformRunner,
    score_object,
    transform_request_problems,
)

__all__ = [
    "EMR_ADD_STEP",
    "SAGEMAKER_ERROR",
    "SAGEMAKER_TRANSFORM",
    "LocalRunners",
    "ModelInstance",
    "StepRecord",
    "TransformError",
    "TransformRecord",
    "cluster_request_problems",
    "parse_s3_uri",
    "score_object",
    "transform_request_problems",
]


class LocalRunners(EmrRunner):
    """The EMR runners and the SageMaker transform runner, sharing one work folder and a progress callback."""

    def __init__(
        self,
        work_dir: Path,
        *,
        region: str = "us-east-1",
        progress: Callable[[str], None] | None = None,
        spark_master: str = "local[2]",
        heartbeat_seconds: float = 5.0,
        model_data_url: str | None = None,
        model_python: Path | None = None,
    ) -> None:
        super().__init__(
            work_dir, region=region, progress=progress, spark_master=spark_master, heartbeat_seconds=heartbeat_seconds
        )
        #: ``createTransformJob.sync``; ``model_data_url`` is the model's ModelDataUrl,
        #: ``model_python`` the model environment's interpreter (default: .venv-model's).
        self.sagemaker = TransformRunner(
            work_dir, region=region, progress=self.progress, model_data_url=model_data_url, model_python=model_python
        )
        self.transforms: list[TransformRecord] = self.sagemaker.records

    def register(self, harness: Any) -> None:
        harness.runners.register(EMR_CREATE, self.create_cluster)
        harness.runners.register(EMR_ADD_STEP, self.add_step)
        harness.runners.register(EMR_TERMINATE, self.terminate_cluster)
        harness.runners.register(SAGEMAKER_TRANSFORM, self.create_transform_job)

    def create_transform_job(self, parameters: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return self.sagemaker.create_transform_job(parameters, context)
