"""Shared fixtures for the payload tests: one local SparkSession, one trained model, moto AWS.

Two environments run these tests. The model's own tests (:data:`MODEL_TEST_FILES`: training,
packaging, the handlers, batching) run in the model environment, the serving image's Python
and libraries (``make test-model``: ``.venv-model/bin/python -m pytest <those files>``); the
others (Spark job, publish, the data files) in the development environment. Each
environment collects only its own files, and says so in the report header.

Expensive things are built once per test session: the SparkSession (``local[2]``, UI off,
workers on this interpreter) and the abalone model (trained on the full data set, then
packaged; from the development environment, trained and packaged in the model environment).
Nothing here reads outside the repository or the pytest temp directory.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from model import env

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The tests that need the serving image's libraries (the Makefile's MODEL_TESTS).
MODEL_TEST_FILES = (
    "test_model_training.py",
    "test_package.py",
    "test_inference_handlers.py",
    "test_inference_fast_paths.py",
    "test_inference_model_fn.py",
    "test_inference_module.py",
    "test_batching.py",
    "test_train_entry.py",
)
IN_MODEL_ENV = env.is_model_env()
_ALL_FILES = sorted(path.name for path in Path(__file__).parent.glob("test_*.py"))
collect_ignore = (
    [name for name in _ALL_FILES if name not in MODEL_TEST_FILES] if IN_MODEL_ENV else list(MODEL_TEST_FILES)
)


def pytest_report_header() -> str:
    if IN_MODEL_ENV:
        return "tests/payloads: model environment (the serving image's versions): the model's tests only"
    return (
        f"tests/payloads: development environment; {', '.join(MODEL_TEST_FILES)} run in the model "
        "environment (make test-model)"
    )


#: JVM flags for short test runs: C1-only JIT and the serial GC start and warm up about twice as
#: fast on two cores (measured: first job 10 s instead of 22 s); results are the same.
TEST_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def spark_env() -> dict[str, str]:
    """Environment for Spark: Python workers must use this interpreter, not the system one."""
    return {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    os.environ.update(spark_env())
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("payload-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", TEST_JVM_OPTIONS)
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@dataclass(frozen=True)
class TrainedModel:
    model_dir: Path
    metrics: object  # model.train.Metrics


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    """The abalone model trained once on the full data file (seed 42), in this process (model env)."""
    assert IN_MODEL_ENV, "trained_model is for the model environment's tests"
    from model.data import ABALONE_PATH
    from model.train import train

    model_dir = tmp_path_factory.mktemp("model")
    metrics = train(ABALONE_PATH, model_dir)
    return TrainedModel(model_dir=model_dir, metrics=metrics)


@pytest.fixture(scope="session")
def model_artifact(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``model.tar.gz``: packaged here in the model environment; elsewhere built there (ridge only, quick)."""
    out = tmp_path_factory.mktemp("artifact") / "model.tar.gz"
    if not IN_MODEL_ENV:
        return env.build_artifact_in_model_env(out, candidates=["ridge"])
    from model.package import build_artifact

    trained: TrainedModel = request.getfixturevalue("trained_model")
    return build_artifact(trained.model_dir, out)


@pytest.fixture(scope="session")
def loaded_model(trained_model: TrainedModel) -> object:
    from model.code import inference

    return inference.model_fn(str(trained_model.model_dir))


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region so boto3 never reaches a real account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
