"""The faults the soak draws at every boundary, and how each is injected into the real handlers' AWS clients.

Drawn per tick from a seeded generator, with probabilities of routine AWS misbehaviour; in any span
of at least a day each kind is also scheduled once at a fixed tick, so a short seeded span (the CI
test) meets every kind. Injected where the real fault would arise:

- **Lambda**: an answer lost after the handler ran (``Lambda.ServiceException``), a time-out after it
  ran (``Sandbox.Timedout``, once: the retry recovers; or on every attempt: the run dies after
  claiming) — :class:`offline.lambdas.LambdaFault`;
- **DynamoDB**: throttling answered by the service before the request is applied, absorbed by the
  SDK's retries (a ``before-send`` hook on the handler's own client); a conditional-write race, in
  which a duplicate execution of the same tick (EventBridge Scheduler delivers at least once) claims
  a slot between this run's read and its write (:class:`ClaimRace`);
- **S3**: every listing comes in pages of a few keys (``MaxKeys``), so pagination is always exercised;
- **SNS**: a publish refused more times than the SDK retries (the notice stays owed);
- **EMR**: a cluster that fails to start, a step that times out, an execution stopped mid-step, a
  run overlapping the next tick (its step still running) — the soak's runners (:mod:`demo.soak.steps`);
- **EventBridge**: the notifier failing once (retried) or the same status change delivered twice.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

from transient_analytics import naming
from transient_analytics.ledger import transitions
from transient_analytics.ledger.store import SlotLedger, from_item
from transient_analytics.runs.bounds import lease
from transient_analytics.settings import PrepareRunSettings
from transient_analytics.slots import Fingerprint

#: Probability per tick (or per failure, for the notifier's) of each kind.
RATES: dict[str, float] = {
    "prepare_answer_lost": 0.04,
    "prepare_timed_out_once": 0.03,
    "prepare_dead": 0.01,
    "record_answer_lost": 0.04,
    "ddb_throttled": 0.08,
    "claim_race": 0.03,
    "sns_refused": 0.03,
    "cluster_start_failed": 0.02,
    "step_timed_out": 0.01,
    "stopped_mid_step": 0.01,
    "overlap": 0.03,
    "notifier_failed_once": 0.15,
    "delivered_twice": 0.15,
    "transform_job_failed": 0.2,
}
#: In a span of at least a day, each kind also happens at this tick.
SCHEDULED = {kind: 12 + 6 * n for n, kind in enumerate(sorted(RATES))}


@dataclass
class Draws:
    """The seeded draws, and how many of each kind actually happened (the soak's table prints them)."""

    seed: int
    ticks: int
    rng: random.Random = field(init=False)
    fired: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed * 7919 + 1)

    def __call__(self, kind: str, tick: int) -> bool:
        hit = self.rng.random() < RATES[kind] or (self.ticks >= 96 and SCHEDULED[kind] == tick)
        if hit:
            self.fired[kind] += 1
        return hit


#: botocore hands every ``before-send`` handler the request and takes the first response; moto's stub
#: answers any AWS URL. An injected answer therefore also moves the request to a host nobody serves,
#: so the service never sees it: the fault happens *before* the request takes effect.
_NOWHERE = "https://fault-injected.invalid/"


def _answered(request: Any, status: int, headers: dict[str, str], body: bytes) -> AWSResponse:
    url, request.url = request.url, _NOWHERE
    return AWSResponse(url, status, headers, MockRawResponse(body))


def _throttling_response(request: Any, kind: str) -> AWSResponse:
    body = {
        "__type": f"com.amazonaws.dynamodb.v20120810#{kind}",
        "message": "Rate of requests exceeds the allowed throughput.",
    }
    return _answered(request, 400, {"x-amzn-errortype": kind}, json.dumps(body).encode())


@dataclass
class ClientFaults:
    """``before-send`` hooks on the handlers' own clients: throttled DynamoDB calls, refused SNS publishes."""

    throttled_calls: int = 0
    refused_publishes: int = 0
    #: Calls the service answered with an error (the SDK retried them).
    seen: Counter[str] = field(default_factory=Counter)

    def install(self, dynamodb: Any, sns: Any | None = None, s3: Any | None = None) -> None:
        dynamodb.meta.events.register_first("before-send", self._dynamodb)
        if sns is not None:
            sns.meta.events.register_first("before-send", self._sns)
        if s3 is not None:
            s3.meta.events.register("before-parameter-build.s3.ListObjectsV2", _small_pages)

    def _dynamodb(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.throttled_calls <= 0:
            return None
        self.throttled_calls -= 1
        self.seen["ThrottlingException"] += 1
        return _throttling_response(request, "ThrottlingException")

    def _sns(self, request: Any, **_: Any) -> AWSResponse | None:
        body = request.body or b""
        if self.refused_publishes <= 0 or b"Action=Publish" not in (body if isinstance(body, bytes) else body.encode()):
            return None
        self.refused_publishes -= 1
        self.seen["sns InternalError"] += 1
        body = (
            b"<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code>"
            b"<Message>injected</Message></Error></ErrorResponse>"
        )
        return _answered(request, 500, {}, body)


def _small_pages(params: dict[str, Any], **_: Any) -> None:
    params["MaxKeys"] = 3  # every day's listing comes in pages: the adapter must follow the tokens


@dataclass
class ClaimRace:
    """A duplicate execution of the tick claims this slot between PrepareRun's read and its write.

    Wraps PrepareRun's DynamoDB client: when armed, the first claim PutItem is preceded by the
    claim the duplicate execution's PrepareRun would have written (the layer's own ``ledger.transitions.claim``,
    holder = that execution), so this run's conditional write loses; the soak then starts the
    duplicate execution, whose PrepareRun finds the claim its own and converts the slot.
    """

    client: Any
    table: str
    settings: Callable[[], PrepareRunSettings]
    armed_for: tuple[str, datetime, datetime] | None = None  # (racer's execution ARN, scheduled, now)
    raced: list[str] = field(default_factory=list)
    #: Claims a duplicate execution won between this run's read and its write.
    won_by_duplicate: int = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def put_item(self, **kwargs: Any) -> Any:
        if self.armed_for is not None and kwargs.get("Item", {}).get("state", {}).get("S") == "running":
            racer, scheduled, now = self.armed_for
            self.armed_for = None
            mine = from_item(kwargs["Item"])
            current = SlotLedger(self.client, self.table).get(mine.pipeline, mine.slot)
            if current is None or current.holder != mine.holder:
                theirs = transitions.claim(
                    current,
                    pipeline=mine.pipeline,
                    slot=mine.slot,
                    observed=Fingerprint(mine.fingerprint or "", mine.objects, mine.bytes),
                    holder=racer,
                    run_id=naming.run_id(scheduled, racer),
                    now=now,
                    lease=lease(mine.pipeline, self.settings()),
                )
                if SlotLedger(self.client, self.table).write(theirs, current.version if current else None):
                    self.raced.append(mine.slot)
                    self.won_by_duplicate += 1
        return self.client.put_item(**kwargs)
