"""The scikit-learn image's training side, on this machine: what the SageMaker training toolkit does in ``/opt/ml``.

:class:`TrainingContainer` lays out an ``/opt/ml``-like tree (``input/config/*.json``,
``input/data/<channel>/``, ``model/``, ``output/data/``, ``code/``), installs the entry point as the
toolkit does (``sagemaker_submit_directory`` extracted into ``code/``; a ``setup.py`` or
``requirements.txt`` would make it ``pip install``, which needs the network), and runs
``<model python> <sagemaker_program> <hyperparameters as --key value>`` from ``code/`` in the model
environment, with the toolkit's ``SM_*`` variables and nothing of this repository on its path.
A non-zero exit becomes the toolkit's failure message (``ExecuteUserScriptError``).
Source: aws/sagemaker-training-toolkit (``environment.py``, ``mapping.py``, ``entry_point.py``,
``_entry_point_type.py``, ``errors.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Hyperparameters the toolkit reads itself (params.SAGEMAKER_HYPERPARAMETERS): not passed to the script.
TOOLKIT_HYPERPARAMETERS = (
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_container_log_level",
    "sagemaker_region",
    "sagemaker_job_name",
    "sagemaker_enable_cloudwatch_metrics",
)
CONTAINER_ROOT = "/opt/ml"
HOST = "algo-1"


class ContainerError(Exception):
    """The job fails as SageMaker reports it: ``reason`` is the FailureReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_hyperparameters(raw: Mapping[str, str]) -> dict[str, Any]:
    """The toolkit's ``read_hyperparameters``: each value JSON-decoded when it is JSON, else kept as text."""
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return decoded


def to_cmd_args(mapping: Mapping[str, Any]) -> list[str]:
    """The toolkit's ``mapping.to_cmd_args``: sorted keys, ``--key value`` (``-k`` for one letter)."""
    args: list[str] = []
    for key in sorted(mapping):
        value = mapping[key]
        args.append(f"--{key}" if len(key) > 1 else f"-{key}")
        if isinstance(value, Mapping):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append(value if isinstance(value, str) else json.dumps(value))
    return args


@dataclass
class TrainingContainer:
    """One training job's container: ``root`` stands for ``/opt/ml``."""

    root: Path
    job_name: str
    hyperparameters: dict[str, Any]
    channels: list[str]
    instance_type: str

    def __post_init__(self) -> None:
        for folder in ("input/config", "model", "output/data", "code"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def channel_dir(self, name: str) -> Path:
        return self.root / "input" / "data" / name

    def local(self, container_path: str) -> Path:
        """A path the job names inside the container (``/opt/ml/…``), on this machine."""
        if not container_path.startswith(CONTAINER_ROOT + "/"):
            raise ContainerError(f"ClientError: {container_path!r} is not a path inside {CONTAINER_ROOT}")
        return self.root / container_path[len(CONTAINER_ROOT) + 1 :]

    def write_config(self, input_data_config: list[dict[str, Any]], raw_hyperparameters: Mapping[str, str]) -> None:
        config = self.root / "input" / "config"
        (config / "hyperparameters.json").write_text(json.dumps(dict(raw_hyperparameters)))
        channels = {
            c["ChannelName"]: {
                "TrainingInputMode": c.get("InputMode", "File"),
                "S3DistributionType": "FullyReplicated",
                "RecordWrapperType": "None",
                **({"ContentType": c["ContentType"]} if "ContentType" in c else {}),
            }
            for c in input_data_config
        }
        (config / "inputdataconfig.json").write_text(json.dumps(channels))
        resources = {"current_host": HOST, "hosts": [HOST], "current_instance_type": self.instance_type}
        (config / "resourceconfig.json").write_text(json.dumps(resources))

    def install(self, network_isolation: bool) -> str:
        """Extract ``sagemaker_submit_directory`` into ``code/`` as the toolkit does; the entry point's name."""
        program = self.hyperparameters.get("sagemaker_program")
        submit = self.hyperparameters.get("sagemaker_submit_directory")
        if not isinstance(program, str) or not isinstance(submit, str):
            raise ContainerError("AlgorithmError: sagemaker_program and sagemaker_submit_directory must be set")
        if submit.startswith("s3://"):
            if network_isolation:
                raise ContainerError(
                    f"AlgorithmError: cannot download {submit}: the container has no network (EnableNetworkIsolation);"
                    " pass the code as a channel and name it under /opt/ml/input/data"
                )
            raise ContainerError("AlgorithmError: the offline runner reads the code from a channel only")
        archive = self.local(submit)
        if not archive.is_file():
            raise ContainerError(f"AlgorithmError: {submit} does not exist (is its channel configured?)")
        code = self.root / "code"
        with tarfile.open(archive, mode="r:gz") as tar:
            tar.extractall(code, filter="data")
        installs = [name for name in ("setup.py", "requirements.txt") if (code / name).exists()]
        if installs and network_isolation:
            raise ContainerError(
                f"AlgorithmError: InstallModuleError: the code has {', '.join(installs)}, so the toolkit runs "
                "pip install, which needs the network (EnableNetworkIsolation)"
            )
        if not program.endswith(".py") or not (code / program).is_file():
            raise ContainerError(f"AlgorithmError: the entry point {program!r} is not a Python file in the code")
        return program

    def environment(self, program: str, path: str) -> dict[str, str]:
        """The toolkit's ``to_env_vars`` for this job (the ones a script reads), and a bare process environment."""
        user = {k: v for k, v in self.hyperparameters.items() if k not in TOOLKIT_HYPERPARAMETERS}
        env = {
            "PATH": path,
            "TRAINING_JOB_NAME": self.job_name,
            "SM_MODEL_DIR": str(self.root / "model"),
            "SM_CHANNELS": json.dumps(sorted(self.channels)),
            "SM_OUTPUT_DATA_DIR": str(self.root / "output" / "data"),
            "SM_OUTPUT_DIR": str(self.root / "output"),
            "SM_INPUT_DIR": str(self.root / "input"),
            "SM_INPUT_CONFIG_DIR": str(self.root / "input" / "config"),
            "SM_MODULE_DIR": str(self.hyperparameters.get("sagemaker_submit_directory")),
            "SM_USER_ENTRY_POINT": program,
            "SM_HPS": json.dumps(user, sort_keys=True, separators=(",", ":")),
            "SM_USER_ARGS": json.dumps(to_cmd_args(user)),
            "SM_CURRENT_HOST": HOST,
            "SM_HOSTS": json.dumps([HOST]),
            "SM_NUM_CPUS": str(os.cpu_count() or 1),
            "SM_NUM_GPUS": "0",
            "SM_LOG_LEVEL": str(self.hyperparameters.get("sagemaker_container_log_level", 20)),
            "PYTHONPATH": str(self.root / "code"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env |= {f"SM_CHANNEL_{c.upper()}": str(self.channel_dir(c)) for c in self.channels}
        env |= {f"SM_HP_{k.upper()}": v if isinstance(v, str) else json.dumps(v) for k, v in user.items()}
        return env

    def run(
        self,
        python: Path,
        *,
        network_isolation: bool,
        max_runtime: float,
        cancelled: Callable[[], bool],
        log: Path,
    ) -> str:
        """Install and run the entry point; its standard output. ContainerError with SageMaker's reason if it fails."""
        program = self.install(network_isolation)
        user = {k: v for k, v in self.hyperparameters.items() if k not in TOOLKIT_HYPERPARAMETERS}
        command = [str(python), program, *to_cmd_args(user)]
        env = self.environment(program, os.environ.get("PATH", "/usr/bin:/bin"))
        out_path = log.with_suffix(".out")
        with log.open("w") as err, out_path.open("w") as out:
            process = subprocess.Popen(command, cwd=self.root / "code", env=env, stdout=out, stderr=err, text=True)
            deadline = time.monotonic() + max_runtime
            while process.poll() is None:
                if cancelled():
                    process.kill()
                    raise ContainerError("Stopped: the execution was stopped")
                if time.monotonic() > deadline:
                    process.kill()
                    raise ContainerError(
                        "MaxRuntimeExceeded: Training job runtime exceeded MaxRuntimeInSeconds provided"
                    )
                time.sleep(0.1)
        stdout = out_path.read_text()
        if process.returncode != 0:
            stderr = log.read_text().strip()
            message = (
                f'ExecuteUserScriptError:\nExitCode {process.returncode}\nErrorMessage "{stderr[-700:]}"\n'
                f'Command "{" ".join(command[1:])}"'
            )
            raise ContainerError(f"AlgorithmError: {message}"[:1024])
        return stdout
