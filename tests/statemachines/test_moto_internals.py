"""Guards the moto internals offline/engine/ relies on: a moto upgrade that moves one fails here, by name.

offline/ patches and subclasses parts of moto's Step Functions interpreter (offline/README.md's
table says why each one). They are not public API, so moto is pinned exactly; these tests say which
symbol moved before any pipeline test fails in a confusing way.
"""

from __future__ import annotations

import importlib
import inspect
import re

import moto
import pytest

from offline.engine import RELIED_ON
from tests.statemachines.sfn_support import ROOT

PINNED_MOTO = "5.2.5"


def _resolve(module_name: str, path: str) -> object:
    target: object = importlib.import_module(module_name)
    for part in path.split("."):
        target = getattr(target, part)
    return target


def test_moto_is_the_pinned_version():
    assert moto.__version__ == PINNED_MOTO, (
        f"offline/ was written against moto {PINNED_MOTO} internals but moto {moto.__version__} is installed: "
        "run tests/statemachines/test_moto_internals.py, re-check offline/engine/, then update the pin"
    )


def test_requirements_pin_moto_exactly():
    requirements = (ROOT / "requirements-dev.txt").read_text()
    pins = re.findall(r"^moto(?:\[[^\]]*\])?==(\S+)$", requirements, flags=re.MULTILINE)
    assert pins == [PINNED_MOTO], f"requirements-dev.txt must pin moto[...]=={PINNED_MOTO} exactly, found {pins}"


@pytest.mark.parametrize(("module_name", "path"), RELIED_ON, ids=[f"{m.rsplit('.', 1)[-1]}:{p}" for m, p in RELIED_ON])
def test_every_moto_symbol_the_harness_relies_on_exists(module_name: str, path: str):
    try:
        _resolve(module_name, path)
    except (ImportError, AttributeError) as exc:
        pytest.fail(
            f"moto moved or removed {module_name}.{path}, which offline/engine/ relies on "
            f"({type(exc).__name__}: {exc}). Re-check that bridge (offline/README.md says why it exists).",
            pytrace=False,
        )


@pytest.mark.parametrize(
    ("module_name", "path", "parameters"),
    [
        (
            "moto.stepfunctions.parser.models",
            "StepFunctionsParserBackend.start_execution",
            ["self", "state_machine_arn", "name", "execution_input", "trace_header"],
        ),
        (
            "moto.stepfunctions.parser.backend.execution_worker",
            "ExecutionWorker.__init__",
            [
                "self",
                "evaluation_details",
                "exec_comm",
                "cloud_watch_logging_session",
                "activity_store",
                "mock_test_case",
            ],
        ),
        (
            "moto.stepfunctions.parser.backend.execution",
            "Execution.__init__",
            [
                "self",
                "name",
                "sm_type",
                "role_arn",
                "exec_arn",
                "account_id",
                "region_name",
                "state_machine",
                "start_date",
                "cloud_watch_logging_session",
                "activity_store",
                "input_data",
                "trace_header",
            ],
        ),
        (
            "moto.stepfunctions.parser.mocking.mock_config",
            "MockTestCase.__init__",
            ["self", "state_machine_name", "test_case_name", "state_mocked_responses_list"],
        ),
        (
            "moto.stepfunctions.parser.mocking.mock_config",
            "StateMockedResponses.__init__",
            ["self", "state_name", "mocked_response_name", "mocked_responses"],
        ),
        (
            "moto.stepfunctions.parser.mocking.mock_config",
            "MockedResponseThrow.__init__",
            ["self", "range_start", "range_end", "error", "cause"],
        ),
        (
            "moto.stepfunctions.parser.mocking.mock_config",
            "MockedResponseReturn.__init__",
            ["self", "range_start", "range_end", "payload"],
        ),
        (
            "moto.awslambda_simple.models",
            "LambdaSimpleBackend.invoke",
            ["self", "function_name", "qualifier", "body", "headers", "response_headers"],
        ),
        (
            "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function",
            "WaitFunction._wait_interval",
            ["self", "env", "wait_seconds"],
        ),
        (
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_factory",
            "state_task_service_for",
            ["service_name"],
        ),
    ],
)
def test_the_signatures_the_harness_calls_or_replaces_are_unchanged(module_name: str, path: str, parameters: list[str]):
    found = list(inspect.signature(_resolve(module_name, path)).parameters)  # type: ignore[arg-type]
    assert found == parameters, (
        f"moto changed the signature of {module_name}.{path}: {found} instead of {parameters}; "
        "offline/engine/ calls or replaces it"
    )


def test_the_retrier_still_sleeps_through_its_module_level_time():
    source = inspect.getsource(
        importlib.import_module("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl")
    )
    assert "time.sleep(interval_seconds)" in source, (
        "moto's RetrierDecl no longer calls time.sleep(interval_seconds): offline/engine/ records retry "
        "back-off by replacing retrier_decl.time, which would then sleep for real or record nothing"
    )


def test_the_context_object_is_built_where_the_harness_extends_it():
    worker = importlib.import_module("moto.stepfunctions.parser.backend.execution_worker").ExecutionWorker
    source = inspect.getsource(worker)
    assert "StartTime=self._evaluation_details.execution_details.start_time" in source, (
        "moto's ExecutionWorker no longer takes $$.Execution.StartTime from ExecutionDetails.start_time: "
        "offline/engine/'s HarnessExecution.get_start_execution_details would stop fixing its format"
    )


def test_the_readme_table_documents_every_bridge():
    readme = (ROOT / "offline" / "README.md").read_text()
    table = readme[readme.index("## moto patches") : readme.index("## Where moto still differs")]
    for name in (
        "start_execution",
        "HarnessServiceTask",
        "error_name_for",
        "error_equals_eval_body",
        "sleeps",
        "_lambda_invoke",
        "redrive",
        "EventPattern",
    ):
        assert name in table, f"offline/README.md's moto table does not mention {name}"


def test_emr_serverless_job_run_fields_set_in_the_backend_are_what_get_job_run_returns():
    """offline/runners/emr_serverless.py sets a run's state, details and usage on moto's JobRun object."""
    import boto3
    from moto import mock_aws
    from moto.emrserverless.models import emrserverless_backends

    assert list(inspect.signature(emrserverless_backends["123456789012"]["us-east-1"].get_job_run).parameters) == [
        "application_id",
        "job_run_id",
    ]
    with mock_aws():
        client = boto3.client("emr-serverless", region_name="us-east-1")
        app = client.create_application(name="a", releaseLabel="emr-7.13.0", type="SPARK")["applicationId"]
        role = "arn:aws:iam::123456789012:role/r"
        run_id = client.start_job_run(applicationId=app, clientToken="t", executionRoleArn=role)["jobRunId"]
        job_run = emrserverless_backends["123456789012"]["us-east-1"].get_job_run(app, run_id)
        fields = {
            "state": "FAILED",
            "state_details": "Job failed",
            "total_execution_duration_seconds": 61,
            "billed_resource_utilization": {"vCPUHour": 0.2, "memoryGBHour": 0.8, "storageGBHour": 0.0},
            "total_resource_utilization": {"vCPUHour": 0.1, "memoryGBHour": 0.4, "storageGBHour": 1.0},
        }
        for name, value in fields.items():
            setattr(job_run, name, value)
        served = client.get_job_run(applicationId=app, jobRunId=run_id)["jobRun"]
    assert (served["state"], served["stateDetails"], served["totalExecutionDurationSeconds"]) == (
        "FAILED",
        "Job failed",
        61,
    )
    assert served["billedResourceUtilization"] == fields["billed_resource_utilization"], (
        "moto no longer serves JobRun attributes by their snake_case names: the EMR Serverless runner's results vanish"
    )
    assert served["totalResourceUtilization"] == fields["total_resource_utilization"]
