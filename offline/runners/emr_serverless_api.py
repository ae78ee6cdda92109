"""The ``emr-serverless:startJobRun.sync`` integration's contract: what it accepts, returns and raises.

One place for what docs/emr-serverless.md found (and could not find) about the integration, so a
correction is made once: :func:`start_job_run_problems` (the API model via :mod:`checks.request_shapes`,
then what EMR Serverless enforces beyond it), :func:`sync_output` (the task's result),
:func:`failure_cause` (the ``States.TaskFailed`` cause of a run that did not succeed) and
:func:`service_error` (a refused request).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from checks.request_shapes import task_request_problems
from offline.integrations import TaskFailure
from offline.runners.s3 import object_exists, parse_s3_uri
from offline.runners.serverless_job import parse_spark_submit_parameters
from transient_analytics.tags import TAG_EXECUTION, TAG_RUN_ID, TAG_STACK

EMR_SERVERLESS_START_JOB_RUN = "arn:aws:states:::emr-serverless:startJobRun.sync"
#: Errors of the optimized integration's API calls are ``EMRServerless.<ErrorCode>``.
SERVICE = "EMRServerless"
#: ``executionTimeoutMinutes`` when the request has none (botocore's GetJobRun documentation).
DEFAULT_TIMEOUT_MINUTES = 720
#: What a failed Spark job's ``stateDetails`` begins with on AWS (seen in AWS's and others' troubleshooting notes).
FAILED_DETAILS = "Job failed, please check complete logs in configured logging destination."


def service_error(code: str, message: str, status: int = 400) -> TaskFailure:
    """The task failure an EMR Serverless API error becomes (cause shaped like the EMR integration's)."""
    return TaskFailure(
        f"{SERVICE}.{code}", f"{message} (Service: {SERVICE}; Status Code: {status}; Error Code: {code})"
    )


def sync_output(application_id: str, job_run_id: str, arn: str) -> dict[str, str]:
    """What the task returns: StartJobRun's response with the integration's upper-case member names.

    ``connect-emr-serverless`` says startJobRun.sync's response does not differ from StartJobRun's and
    documents no more; its samples read ``ApplicationId``/``JobRunId`` from the request-response form.
    Read ``GetJobRun`` for the final state and the billed usage.
    """
    return {"ApplicationId": application_id, "JobRunId": job_run_id, "Arn": arn}


def failure_cause(job_run: Mapping[str, Any]) -> str:
    """The ``States.TaskFailed`` cause: the job run's description, upper-case names (inferred, not documented)."""
    fields = ("applicationId", "jobRunId", "arn", "name", "state", "stateDetails", "releaseLabel")
    described = {k[0].upper() + k[1:]: job_run[k] for k in fields if k in job_run}
    described["TotalExecutionDurationSeconds"] = job_run.get("totalExecutionDurationSeconds", 0)
    return json.dumps(described)


def start_job_run_problems(parameters: Mapping[str, Any], s3: Any) -> list[str]:
    """What the API model refuses, then what the service (and this runner) enforce beyond it."""
    problems = task_request_problems(EMR_SERVERLESS_START_JOB_RUN, parameters)
    driver = parameters.get("JobDriver")
    submit = driver.get("SparkSubmit") if isinstance(driver, Mapping) else None
    if not isinstance(submit, Mapping):
        return [*problems, "JobDriver.SparkSubmit is required: the offline runner runs Spark jobs"]
    entry = str(submit.get("EntryPoint", ""))
    if not entry.startswith("s3://"):
        problems.append(f"JobDriver.SparkSubmit.EntryPoint: {entry!r} is not an s3:// URI")
    elif not object_exists(s3, *parse_s3_uri(entry)):
        problems.append(f"JobDriver.SparkSubmit.EntryPoint: no object at {entry}")
    try:
        if "spark.master" in parse_spark_submit_parameters(str(submit.get("SparkSubmitParameters", ""))):
            problems.append("JobDriver.SparkSubmit.SparkSubmitParameters: Option 'spark.master' is not supported")
    except ValueError as exc:
        problems.append(f"JobDriver.SparkSubmit.{exc}")
    given = parameters.get("Tags")
    tags: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    missing = [k for k in (TAG_EXECUTION, TAG_RUN_ID, TAG_STACK) if not tags.get(k)]
    return problems + ([f"Tags lack {', '.join(missing)}"] if missing else [])
