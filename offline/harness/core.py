"""The offline harness: the template's state machines executing in moto, with the real handlers (``offline/README.md``).

On entry it starts moto (Step Functions execution on, Lambda without Docker), installs the engine
bridges with itself as their :class:`~offline.engine.EngineHooks`, and provisions what the
template declares (:mod:`offline.harness.provision`).
"""

from __future__ import annotations

import datetime
import os
import threading
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from unittest import mock

import boto3
from moto import mock_aws
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType
from moto.stepfunctions.parser.mocking.mock_config import MockTestCase

from offline.cfn.resolver import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, DEFAULT_STACK_NAME
from offline.cfn.stack import Stack
from offline.cfn.template import load_template
from offline.engine import Sleep, patched_engine
from offline.engine import backend as in_moto
from offline.events import execution_status_change_event
from offline.harness.executions import Executions
from offline.harness.inbox import SnsInbox
from offline.harness.provision import provision
from offline.harness.results import (
    FunctionError,
    PublishedMessage,
)
from offline.integrations import Runner, RunnerRegistry
from offline.lambdas import InProcessLambdas, Invocation, LambdaFault
from offline.mock_config import MockConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


class OfflineHarness(Executions):
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
        template = load_template(root / "template.yaml")
        self.stack = Stack(template, parameters or {}, stack_name=stack_name, region=region, account_id=account_id)
        self.mock_config = MockConfig.load(mock_config) if isinstance(mock_config, Path) else mock_config
        self.region = region
        self.account_id = account_id
        self.execution_timeout = execution_timeout
        self.runners = RunnerRegistry()
        self.functions = self.stack.functions()
        self.state_machines = self.stack.state_machines()
        self.lambdas = InProcessLambdas(root, self.functions, region)
        self._sleeps: list[Sleep] = []
        self._lock = threading.Lock()
        self._exit = ExitStack()
        self._scoped = ExitStack()
        self._inbox: SnsInbox | None = None
        self._extra_machines: dict[str, str] = {}
        #: PrepareRun's frozen clock: executions started meanwhile start then too ($$.Execution.StartTime).
        self._clock: datetime.datetime | None = None
        #: The moment each frozen clock (module, attribute) reads; patched once, moved by later freezes.
        self._clocks: dict[tuple[str, str], datetime.datetime] = {}

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> OfflineHarness:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Start moto, install the engine bridges and create the template's resources."""
        if self._inbox is not None:
            raise RuntimeError("the harness is already started")
        try:
            self._exit.enter_context(
                mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region})
            )
            self._exit.enter_context(
                mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
            )
            self._exit.enter_context(patched_engine(self))
            self._exit.callback(lambda: self.lambdas.clear_caches())
            self._exit.callback(self.reset)
            self.sfn = boto3.client("stepfunctions", region_name=self.region)
            self._inbox = provision(self)
            self.lambdas.clear_caches()
        except BaseException:
            self._exit.close()
            raise

    def refresh_specs(self) -> None:
        """Read the functions and state machines again (after the resolver learnt an id a service chose)."""
        self.functions = self.stack.functions()
        self.state_machines = self.stack.state_machines()
        self.lambdas = InProcessLambdas(self.root, self.functions, self.region)

    def stop(self) -> None:
        """Stop what still runs, undo every patch and stop moto."""
        self._exit.close()
        self._inbox = None

    def reset(self) -> None:
        """Forget per-test state, keeping moto and the resources: one harness can serve many tests.

        Stops executions still running, undoes :meth:`freeze_clock`, unregisters runners, empties the
        recorded sleeps, invocations and messages. The handlers' ``functools.cache`` is kept (cleared on
        start and stop, as a new Lambda execution environment starts empty).
        """
        in_moto.stop_running(self.account_id, self.region)
        self._scoped.close()
        self._scoped = ExitStack()
        self._clock = None
        self._clocks.clear()
        self.runners.clear()
        with self._lock:
            self._sleeps.clear()
        self.lambdas.invocations.clear()
        self.lambdas.faults.clear()
        if self._inbox is not None:
            self._inbox.clear()

    # ------------------------------------------------------------------ what the engine asks (EngineHooks)
    def load_test_case(self, state_machine_name: str, test_case: str) -> MockTestCase | None:
        return self.mock_config.test_case(state_machine_name, test_case) if self.mock_config else None

    def runner_for(self, resource_arn: str) -> Runner | None:
        return self.runners.get(resource_arn)

    def record_sleep(self, sleep: Sleep) -> None:
        with self._lock:
            self._sleeps.append(sleep)

    def invoke_lambda(self, function_name: str, event: Any) -> tuple[Any, bool]:
        return self.lambdas.invoke(function_name, event)

    def execution_clock(self) -> datetime.datetime | None:
        return self._clock

    # ------------------------------------------------------------------ what happened around the executions
    @property
    def sleeps(self) -> list[Sleep]:
        """Every back-off and Wait interval the interpreter would have slept, in order."""
        with self._lock:
            return list(self._sleeps)

    @property
    def invocations(self) -> list[Invocation]:
        return list(self.lambdas.invocations)

    def published(self) -> list[PublishedMessage]:
        """Every SNS message published to the template's topics so far (read through SQS)."""
        if self._inbox is None:
            raise RuntimeError("the harness is not started")
        return self._inbox.published()

    def freeze_clock(
        self, moment: datetime.datetime, function: str = "PrepareRunFunction", attribute: str = "now"
    ) -> None:
        """Make ``<function's module>.<attribute>()`` return ``moment`` until :meth:`reset` or :meth:`stop`.

        Freezing PrepareRun's clock also dates the executions started meanwhile (``$$.Execution.StartTime``,
        DescribeExecution's ``startDate``) at ``moment``: a run without a scheduled time is dated by it.
        """
        if moment.tzinfo is None:
            raise ValueError("freeze the clock with a timezone-aware datetime")
        if function == "PrepareRunFunction" and attribute == "now":
            self._clock = moment
        key = (function, attribute)
        if key not in self._clocks:  # patched once; a later freeze only moves the moment it reads
            clocks = self._clocks
            self._scoped.enter_context(mock.patch.object(self.lambdas.module(function), attribute, lambda: clocks[key]))
        self._clocks[key] = moment

    def inject(self, fault: LambdaFault) -> LambdaFault:
        """Make the function's next invocations fail as ``fault`` says (until :meth:`reset`)."""
        return self.lambdas.inject(fault)

    def invoke_function(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Invoke a function's handler directly (in-process, its template environment); raise on error."""
        result, errored = self.lambdas.invoke(logical_id, event)
        if errored:
            raise FunctionError(result)
        return result

    def status_change_event(self, execution_arn: str, event_id: str | None = None) -> dict[str, Any]:
        """The "Step Functions Execution Status Change" event AWS would emit for the execution now."""
        description = self.describe(execution_arn)
        return execution_status_change_event(
            description, region=self.region, account_id=self.account_id, event_id=event_id
        )

    def deliver_status_change(self, execution_arn: str, event_id: str | None = None) -> dict[str, Any]:
        """EventBridge's hop: the status-change event to every function whose template rule matches it.

        The rules are the functions' ``EventBridgeRule`` events, matched by moto's EventBridge
        pattern matcher; returns each matching function's result by logical id.
        """
        event = self.status_change_event(execution_arn, event_id)
        message = cast(EventMessageType, event)  # moto's TypedDict of an EventBridge event
        return {
            lid: self.invoke_function(lid, event)
            for lid, spec in self.functions.items()
            if any(EventPattern(None, pattern).matches_event(message) for pattern in spec.event_patterns)
        }
