"""The offline harness: the template's state machines executing in moto, with the real handlers.

::

    with OfflineHarness(mock_config=Path("tests/statemachines/mock-config.json")) as h:
        h.freeze_clock(datetime(2026, 11, 25, 20, 16, tzinfo=UTC))
        result = h.run("EmrPipelineStateMachine", {"scheduled_time": "2026-11-25T20:15:00Z"},
                       test_case="HappyPath")
        assert result.status == "SUCCEEDED"
        assert result.states_entered[:2] == ["PrepareRun", "HasWork"]

On entry it starts moto (Step Functions execution enabled, Lambda without Docker), installs
the engine bridges (:mod:`offline.engine`), and creates from ``template.yaml`` what the
definitions and functions refer to: S3 buckets, SNS topics (each read back through an SQS
subscription), SQS queues, DynamoDB tables (key schema from the template), IAM roles, the
Lambda functions (their configuration from the template; invoking one runs its handler
in-process, :mod:`offline.lambdas`) and the state machines, whose definitions are the ASL
files with their ``DefinitionSubstitutions`` applied (:mod:`offline.definitions`).
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import os
import threading
import time
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.mocking.mock_config import MockTestCase
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from offline.cfn import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    Stack,
    all_states,
    load_template,
    render_definition,
)
from offline.engine import HarnessExecution, HarnessWorker, Sleep, patched_engine
from offline.events import execution_status_change_event
from offline.integrations import Runner, RunnerRegistry
from offline.lambdas import InProcessLambdas, Invocation
from offline.mock_config import MockConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
FINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
_INBOX_QUEUE = "offline-harness-inbox"


class ExecutionDidNotFinish(AssertionError):
    """An execution was still RUNNING when the harness stopped waiting for it."""


class FunctionError(RuntimeError):
    """A handler invoked through :meth:`OfflineHarness.invoke_function` raised (Lambda's error payload attached)."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(f"{payload.get('errorType')}: {payload.get('errorMessage')}")
        self.payload = payload


@dataclass(frozen=True)
class ScheduledTask:
    """A TaskScheduled event: the state that scheduled it and the parameters it sent."""

    state: str
    resource_type: str
    resource: str
    parameters: dict[str, Any]
    timeout_seconds: int | None


@dataclass(frozen=True)
class PublishedMessage:
    topic_arn: str
    subject: str
    message: str


@dataclass(frozen=True)
class ExecutionResult:
    """A finished execution: ``DescribeExecution`` and ``GetExecutionHistory``, with readers."""

    description: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def arn(self) -> str:
        return str(self.description["executionArn"])

    @property
    def name(self) -> str:
        return str(self.description["name"])

    @property
    def status(self) -> str:
        return str(self.description["status"])

    @property
    def error(self) -> str | None:
        return self.description.get("error")

    @property
    def cause(self) -> str | None:
        return self.description.get("cause")

    @property
    def cause_json(self) -> Any:
        """The cause parsed as JSON (Lambda, EMR and SageMaker causes are JSON documents), else None."""
        try:
            return json.loads(self.cause) if self.cause else None
        except json.JSONDecodeError:
            return None

    @property
    def output(self) -> Any:
        text = self.description.get("output")
        return json.loads(text) if text is not None else None

    @property
    def states_entered(self) -> list[str]:
        """Names of the states entered, in order (a state entered twice appears twice)."""
        return [e["stateEnteredEventDetails"]["name"] for e in self.history if "stateEnteredEventDetails" in e]

    @property
    def scheduled_tasks(self) -> list[ScheduledTask]:
        """Every TaskScheduled event (one per attempt), with the state that scheduled it.

        The state is found by following ``previousEventId`` back to the TaskStateEntered event
        (or the retry's previous attempt) it descends from, so a task inside a Map or Parallel
        state, whose iterations interleave in the history, is credited to its own state.
        """
        by_id = {e.get("id"): e for e in self.history}
        tasks = []
        for event in self.history:
            if event["type"] != "TaskScheduled":
                continue
            state, cursor = "?", event
            while cursor is not None:
                if "stateEnteredEventDetails" in cursor:
                    state = cursor["stateEnteredEventDetails"]["name"]
                    break
                cursor = by_id.get(cursor.get("previousEventId"))
            details = event["taskScheduledEventDetails"]
            tasks.append(
                ScheduledTask(
                    state=state,
                    resource_type=details["resourceType"],
                    resource=details["resource"],
                    parameters=json.loads(details["parameters"]),
                    timeout_seconds=details.get("timeoutInSeconds"),
                )
            )
        return tasks

    def tasks(self, state: str) -> list[ScheduledTask]:
        """The TaskScheduled events of one state (one per attempt)."""
        return [t for t in self.scheduled_tasks if t.state == state]

    def events(self, *types: str) -> list[dict[str, Any]]:
        return [e for e in self.history if e["type"] in types]


@dataclass
class _Hooks:
    """What the patched engine asks the harness (see :class:`offline.engine.EngineHooks`)."""

    harness: OfflineHarness
    region: str
    account_id: str
    sleeps: list[Sleep] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def load_test_case(self, state_machine_name: str, test_case: str) -> MockTestCase | None:
        config = self.harness.mock_config
        return config.test_case(state_machine_name, test_case) if config else None

    def runner_for(self, resource_arn: str) -> Runner | None:
        return self.harness.runners.get(resource_arn)

    def record_sleep(self, sleep: Sleep) -> None:
        with self.lock:
            self.sleeps.append(sleep)

    def invoke_lambda(
        self,
        backend: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
    ) -> bytes:
        function = backend.get_function(function_name, qualifier)  # unknown name: ResourceNotFoundException
        event = json.loads(body) if body else {}
        result, errored = self.harness.lambdas.invoke(function.function_name, event)
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(result).encode("utf-8")


class OfflineHarness:
    """Executes the template's state machines in moto. Use as a context manager (one at a time)."""

    def __init__(
        self,
        root: Path = REPO_ROOT,
        *,
        mock_config: Path | MockConfig | None = None,
        parameters: dict[str, str] | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        execution_timeout: float = 15.0,
    ) -> None:
        self.root = root
        self.stack = Stack(
            load_template(root / "template.yaml"),
            parameters=parameters or {},
            stack_name=stack_name,
            region=region,
            account_id=account_id,
        )
        self.mock_config = MockConfig.load(mock_config) if isinstance(mock_config, Path) else mock_config
        self.region = region
        self.account_id = account_id
        self.execution_timeout = execution_timeout
        self.runners = RunnerRegistry()
        self.functions = self.stack.functions()
        self.state_machines = self.stack.state_machines()
        self.lambdas = InProcessLambdas(root, self.functions, region, self._function_log_groups())
        self._hooks = _Hooks(harness=self, region=region, account_id=account_id)
        self._exit = ExitStack()
        self._scoped = ExitStack()
        self._inbox_url: str | None = None
        self._published: list[PublishedMessage] = []
        self._extra_machines: dict[str, str] = {}
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> OfflineHarness:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start moto, install the engine bridges and create the template's resources."""
        if self._started:
            raise RuntimeError("the harness is already started")
        try:
            self._exit.enter_context(
                mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region})
            )
            self._exit.enter_context(
                mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
            )
            self._exit.enter_context(patched_engine(self._hooks))
            self._exit.enter_context(_quiet_interpreter_logs())
            self._exit.callback(self.lambdas.clear_caches)
            self._exit.callback(self.reset)
            self.sfn = boto3.client("stepfunctions", region_name=self.region)
            self._sqs = boto3.client("sqs", region_name=self.region)
            self._provision()
            self.lambdas.clear_caches()
            self._started = True
        except BaseException:
            self._exit.close()
            raise

    def stop(self) -> None:
        """Stop what still runs, undo every patch and stop moto."""
        self._exit.close()
        self._started = False

    def reset(self) -> None:
        """Forget per-test state, keeping moto and the resources: one harness can serve many tests.

        Stops executions still running, undoes :meth:`freeze_clock`, unregisters runners and
        empties the recorded sleeps, invocations and published messages. The handlers'
        ``functools.cache`` (settings, boto3 clients bound to this moto) is kept: it is cleared
        when the harness starts and stops, as a new Lambda execution environment would start empty.
        """
        self._stop_running_executions()
        self._scoped.close()
        self._scoped = ExitStack()
        self.runners.clear()
        with self._hooks.lock:
            self._hooks.sleeps.clear()
        self.lambdas.invocations.clear()
        if self._inbox_url is not None:
            self.published()
        self._published.clear()

    # ------------------------------------------------------------------ provisioning from the template
    def _provision(self) -> None:
        s3 = boto3.client("s3", region_name=self.region)
        for lid in self.stack.resources_of_type("AWS::S3::Bucket"):
            s3.create_bucket(Bucket=self.stack.ref(lid))
        sqs = self._sqs
        for lid in self.stack.resources_of_type("AWS::SQS::Queue"):
            sqs.create_queue(QueueName=self.stack.physical_name(lid))
        dynamodb = boto3.client("dynamodb", region_name=self.region)
        for lid in self.stack.resources_of_type("AWS::DynamoDB::Table"):
            indexes = self.stack.resource_property(lid, "GlobalSecondaryIndexes")
            dynamodb.create_table(
                TableName=self.stack.ref(lid),
                KeySchema=self.stack.resource_property(lid, "KeySchema"),
                AttributeDefinitions=self.stack.resource_property(lid, "AttributeDefinitions"),
                BillingMode=self.stack.resource_property(lid, "BillingMode", "PAY_PER_REQUEST"),
                **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
            )
        sns = boto3.client("sns", region_name=self.region)
        self._inbox_url = sqs.create_queue(QueueName=_INBOX_QUEUE)["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=self._inbox_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for lid in self.stack.resources_of_type("AWS::SNS::Topic"):
            topic_arn = sns.create_topic(Name=self.stack.physical_name(lid))["TopicArn"]
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
        iam = boto3.client("iam", region_name=self.region)
        trust = json.dumps({"Version": "2012-10-17", "Statement": []})
        roles: dict[str, str] = {}
        for lid in [*self.functions, *self.state_machines]:
            # SAM generates a role per function and state machine: <LogicalId>Role.
            roles[lid] = iam.create_role(RoleName=f"{self.stack.stack_name}-{lid}Role", AssumeRolePolicyDocument=trust)[
                "Role"
            ]["Arn"]
        lambda_client = boto3.client("lambda", region_name=self.region)
        for lid, spec in self.functions.items():
            lambda_client.create_function(
                FunctionName=spec.name,
                Runtime=spec.runtime or "python3.13",
                Role=roles[lid],
                Handler=f"{spec.module.rsplit('.', 1)[-1]}.{spec.handler}",
                Code={"ZipFile": _placeholder_zip(spec.module)},
                Timeout=spec.timeout_seconds,
                MemorySize=spec.memory_mb,
                Environment={"Variables": spec.environment},
            )
        for lid, machine in self.state_machines.items():
            rendered = render_definition(self.stack, self.root, lid)
            created = self.sfn.create_state_machine(
                name=machine.name, definition=rendered.text, roleArn=roles[lid], type=machine.type
            )
            if created["stateMachineArn"] != machine.arn:
                raise RuntimeError(f"{lid}: moto named it {created['stateMachineArn']}, the template {machine.arn}")
            self._check_mock_config_states(machine.name, rendered.definition)

    def _check_mock_config_states(self, state_machine_name: str, definition: dict[str, Any]) -> None:
        if self.mock_config is not None:
            self.mock_config.check_states(state_machine_name, set(all_states(definition)))

    def _function_log_groups(self) -> dict[str, str]:
        groups = {}
        for lid in self.functions:
            logging_config = self.stack.resource_property(lid, "LoggingConfig", {})
            if logging_config.get("LogGroup"):
                groups[lid] = str(logging_config["LogGroup"])
        return groups

    def _stop_running_executions(self, grace_seconds: float = 2.0) -> None:
        backend = stepfunctions_parser_backends[self.account_id][self.region]
        every = _harness_executions(e for machine in backend.state_machines for e in machine.executions)
        running = [e for e in every if e.status == "RUNNING"]
        for execution in running:
            execution.stop(stop_date=datetime.datetime.now(tz=datetime.UTC), error=None, cause=None)
        for execution in running:
            worker = execution.exec_worker
            if isinstance(worker, HarnessWorker) and not worker.finished.wait(grace_seconds):
                warnings.warn(
                    f"{execution.exec_arn} is still running {grace_seconds} s after StopExecution: a runner "
                    "ignores TaskContext.cancelled() or a test did not release it",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def _executions(self, logical_id: str) -> list[HarnessExecution]:
        backend = stepfunctions_parser_backends[self.account_id][self.region]
        machine = backend.describe_state_machine(self.state_machine_arn(logical_id))
        return _harness_executions(machine.executions)

    def _execution(self, execution_arn: str) -> HarnessExecution:
        backend = stepfunctions_parser_backends[self.account_id][self.region]
        execution: object = backend.describe_execution(execution_arn)
        if not isinstance(execution, HarnessExecution):
            raise TypeError(f"{execution_arn} was not started through the offline harness")
        return execution

    # ------------------------------------------------------------------ executions
    def state_machine_arn(self, logical_id: str) -> str:
        """The ARN of a template state machine (by logical id) or of one added with :meth:`add_state_machine`."""
        if logical_id in self.state_machines:
            return self.state_machines[logical_id].arn
        if logical_id in self._extra_machines:
            return self._extra_machines[logical_id]
        raise KeyError(f"no state machine {logical_id!r}; the template has {sorted(self.state_machines)}")

    def add_state_machine(self, name: str, definition: dict[str, Any]) -> str:
        """Create an ad-hoc STANDARD state machine (to exercise the interpreter itself); its ARN.

        The pipelines are always the template's; this is for checking engine behaviour on a
        minimal definition. Start it with ``start_execution(name, …)``.
        """
        if name in self.state_machines or name in self._extra_machines:
            raise ValueError(f"state machine {name!r} already exists")
        role = f"arn:aws:iam::{self.account_id}:role/{self.stack.stack_name}-offline-extra"
        arn = str(
            self.sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
        )
        self._extra_machines[name] = arn
        return arn

    def start_execution(
        self,
        logical_id: str,
        execution_input: dict[str, Any] | None = None,
        *,
        test_case: str | None = None,
        name: str | None = None,
    ) -> str:
        """Start an execution (on ``arn#test_case`` when given, as with Step Functions Local); its ARN."""
        arn = self.state_machine_arn(logical_id) + (f"#{test_case}" if test_case else "")
        kwargs: dict[str, Any] = {"stateMachineArn": arn, "input": json.dumps(execution_input or {})}
        if name:
            kwargs["name"] = name
        return str(self.sfn.start_execution(**kwargs)["executionArn"])

    def describe(self, execution_arn: str) -> dict[str, Any]:
        description = self.sfn.describe_execution(executionArn=execution_arn)
        description.pop("ResponseMetadata", None)
        return dict(description)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        pages = self.sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        return [event for page in pages for event in page["events"]]

    def wait(self, execution_arn: str, timeout: float | None = None) -> ExecutionResult:
        """Block until the execution reaches any final status; :class:`ExecutionDidNotFinish` after ``timeout``.

        Waits on the worker's completion (no busy polling that would steal the interpreter's
        threads' time), then reads ``DescribeExecution`` and the history through the API.
        """
        limit = self.execution_timeout if timeout is None else timeout
        worker = self._execution(execution_arn).exec_worker
        if not isinstance(worker, HarnessWorker) or not worker.finished.wait(limit):
            description = self.describe(execution_arn)
            entered = ExecutionResult(description=description, history=self.history(execution_arn))
            raise ExecutionDidNotFinish(
                f"{execution_arn} is still {description['status']} after {limit:.1f} s; "
                f"states entered: {entered.states_entered}"
            )
        description = self.describe(execution_arn)
        if description["status"] not in FINAL_STATUSES:  # pragma: no cover - the worker records it first
            raise ExecutionDidNotFinish(f"{execution_arn} ended without a final status ({description['status']})")
        return ExecutionResult(description=description, history=self.history(execution_arn))

    def wait_for_state(self, execution_arn: str, state: str, timeout: float | None = None) -> None:
        """Block until the execution has entered ``state`` (e.g. to act while it is RUNNING there)."""
        limit = self.execution_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while time.monotonic() <= deadline:
            history = ExecutionResult(description={}, history=self.history(execution_arn))
            if state in history.states_entered:
                return
            time.sleep(0.02)
        raise ExecutionDidNotFinish(f"{execution_arn} did not enter {state} within {limit:.1f} s")

    def run(
        self,
        logical_id: str,
        execution_input: dict[str, Any] | None = None,
        *,
        test_case: str | None = None,
        name: str | None = None,
        timeout: float | None = None,
    ) -> ExecutionResult:
        """Start an execution and wait for its final status."""
        arn = self.start_execution(logical_id, execution_input, test_case=test_case, name=name)
        return self.wait(arn, timeout)

    def redrive(self, execution_arn: str, timeout: float | None = None) -> ExecutionResult:
        """``RedriveExecution`` (the harness's implementation), then wait for the final status."""
        self.sfn.redrive_execution(executionArn=execution_arn)
        return self.wait(execution_arn, timeout)

    def stop_execution(self, execution_arn: str) -> None:
        self.sfn.stop_execution(executionArn=execution_arn)

    # ------------------------------------------------------------------ what happened around the executions
    @property
    def sleeps(self) -> list[Sleep]:
        """Every back-off and Wait interval the interpreter would have slept, in order."""
        with self._hooks.lock:
            return list(self._hooks.sleeps)

    @property
    def invocations(self) -> list[Invocation]:
        return list(self.lambdas.invocations)

    def published(self) -> list[PublishedMessage]:
        """Every SNS message published to the template's topics so far (read through SQS)."""
        sqs = self._sqs
        while True:
            batch = sqs.receive_message(QueueUrl=self._inbox_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return list(self._published)
            for message in batch:
                body = json.loads(message["Body"])
                self._published.append(
                    PublishedMessage(
                        topic_arn=body["TopicArn"], subject=body.get("Subject", ""), message=body["Message"]
                    )
                )
                sqs.delete_message(QueueUrl=self._inbox_url, ReceiptHandle=message["ReceiptHandle"])

    def freeze_clock(
        self, moment: datetime.datetime, function: str = "PrepareRunFunction", attribute: str = "now"
    ) -> None:
        """Make ``<function's module>.<attribute>()`` return ``moment`` until :meth:`reset` or :meth:`stop`."""
        if moment.tzinfo is None:
            raise ValueError("freeze the clock with a timezone-aware datetime")
        self._scoped.enter_context(mock.patch.object(self.lambdas.module(function), attribute, lambda: moment))

    def invoke_function(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Invoke a function's handler directly (in-process, its template environment); raise on error."""
        result, errored = self.lambdas.invoke(logical_id, event)
        if errored:
            raise FunctionError(result)
        return result

    def status_change_event(self, execution_arn: str, event_id: str | None = None) -> dict[str, Any]:
        """The "Step Functions Execution Status Change" event AWS would emit for the execution now."""
        return execution_status_change_event(
            self.describe(execution_arn), region=self.region, account_id=self.account_id, event_id=event_id
        )

    def executions(self, logical_id: str) -> Iterator[str]:
        """ARNs of every execution of a state machine, oldest first."""
        for execution in self._executions(logical_id):
            yield execution.exec_arn


def _harness_executions(executions: Iterable[object]) -> list[HarnessExecution]:
    """The executions the harness started (moto's lists are typed with moto's other Execution class)."""
    return [e for e in executions if isinstance(e, HarnessExecution)]


@contextmanager
def _quiet_interpreter_logs() -> Iterator[None]:
    """moto logs every failure it evaluates, with the whole state's repr, at ERROR (kilobytes each).

    Failures are the subject of these tests and reach them through the execution history;
    the log lines only bury pytest's report. Silenced while the harness runs, restored after.
    """
    noisy = logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component")
    level = noisy.level
    noisy.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        noisy.setLevel(level)


def _placeholder_zip(module: str) -> bytes:
    """moto needs a deployment package; the code that runs is the repository's, in-process."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", f"Offline harness placeholder: the handler runs from {module} in-process.\n")
    return buffer.getvalue()
