"""How each function gets its settings, its AWS adapters and the clock: built once per execution environment.

The handlers name these (``settings``, ``ports``, ``now`` …) as module attributes, so a test or
the offline twin replaces one of them on the handler module; every builder is cached as a Lambda
execution environment would keep it, and ``cache_clear`` starts a cold one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from botocore.config import Config

from transient_analytics.aws import Clusters, CompletionEvents, Executions, Meter, Objects, Topic
from transient_analytics.ledger.store import SlotLedger
from transient_analytics.runs.cost import PriceTable
from transient_analytics.settings import (
    NotifyFailureSettings,
    PrepareRunSettings,
    PrepareTrainingSettings,
    PromoteModelSettings,
    RecordSlotsSettings,
    load_settings,
)
from transient_analytics.training.model_registry import ModelPackages, ProductionPointer, TrainingOutputs


def utc_now() -> datetime:
    return datetime.now(UTC)


#: The retries of the SNS clients that send the pipelines' messages: botocore's legacy mode (5 attempts,
#: exponential back-off), not the default standard mode, whose retry quota a warm execution environment
#: spends during an SNS incident and then never retries again until enough calls succeed (measured by
#: ``make soak``: after about a hundred refused publishes in a week, three failure messages were lost on
#: single attempts). These clients send a handful of messages a day: no retry storm for a quota to stop.
NOTIFICATION_RETRIES = Config(retries={"mode": "legacy", "max_attempts": 5})


def notification_client() -> Any:
    return boto3.client("sns", config=NOTIFICATION_RETRIES)


@cache
def prepare_run_settings() -> PrepareRunSettings:
    return load_settings(PrepareRunSettings, os.environ)


@cache
def prepare_run_ports() -> tuple[Objects, SlotLedger, ProductionPointer | None]:
    s = prepare_run_settings()
    production = ProductionPointer(boto3.client("dynamodb"), s.PRODUCTION_TABLE) if s.PRODUCTION_TABLE else None
    return Objects(boto3.client("s3")), SlotLedger(boto3.client("dynamodb"), s.LEDGER_TABLE), production


@cache
def record_slots_settings() -> RecordSlotsSettings:
    return load_settings(RecordSlotsSettings, os.environ)


@cache
def record_slots_ports() -> tuple[SlotLedger, Objects, Topic, CompletionEvents]:
    s = record_slots_settings()
    return (
        SlotLedger(boto3.client("dynamodb"), s.LEDGER_TABLE),
        Objects(boto3.client("s3")),
        Topic(notification_client(), s.TOPIC_ARN),
        CompletionEvents(boto3.client("events")),
    )


@cache
def record_slots_prices() -> PriceTable:
    return load_settings(PriceTable, os.environ)


@cache
def meter() -> Meter:
    """What AWS billed a run (RecordSlots prices it; NotifyFailure cancels a dead run's job run through it)."""
    return Meter(boto3.client("emr"), boto3.client("emr-serverless"))


@cache
def notify_failure_settings() -> NotifyFailureSettings:
    return load_settings(NotifyFailureSettings, os.environ)


@cache
def executions() -> Executions:
    return Executions(boto3.client("stepfunctions"))


@cache
def clusters() -> Clusters:
    return Clusters(boto3.client("emr"))


@cache
def notify_failure_ledger() -> SlotLedger:
    return SlotLedger(boto3.client("dynamodb"), notify_failure_settings().LEDGER_TABLE)


@cache
def notify_failure_objects() -> Objects:
    """The run reports of dead runs (which slot was running when the step died)."""
    return Objects(boto3.client("s3"))


@cache
def notify_failure_topic() -> Topic:
    return Topic(notification_client(), notify_failure_settings().TOPIC_ARN)


@cache
def notify_failure_idempotency_store() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=notify_failure_settings().IDEMPOTENCY_TABLE)


@cache
def notify_failure_idempotency_config() -> IdempotencyConfig:
    return IdempotencyConfig(expires_after_seconds=notify_failure_settings().IDEMPOTENCY_TTL_SECONDS)


@cache
def idempotent_on_event_id(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``function`` made idempotent on its ``event_id`` argument, once (the Lambda context is set per call)."""
    wrapped: Callable[..., dict[str, Any]] = idempotent_function(
        data_keyword_argument="event_id",
        persistence_store=notify_failure_idempotency_store(),
        config=notify_failure_idempotency_config(),
    )(function)
    return wrapped


@cache
def prepare_training_settings() -> PrepareTrainingSettings:
    return load_settings(PrepareTrainingSettings, os.environ)


@cache
def prepare_training_ports() -> tuple[Objects, ProductionPointer, ModelPackages, TrainingOutputs]:
    return (
        Objects(boto3.client("s3")),
        ProductionPointer(boto3.client("dynamodb"), prepare_training_settings().PRODUCTION_TABLE),
        ModelPackages(boto3.client("sagemaker")),
        TrainingOutputs(boto3.client("s3")),
    )


@cache
def register_model_ports() -> tuple[ModelPackages, TrainingOutputs]:
    return ModelPackages(boto3.client("sagemaker")), TrainingOutputs(boto3.client("s3"))


@cache
def promote_model_settings() -> PromoteModelSettings:
    return load_settings(PromoteModelSettings, os.environ)


@cache
def production_pointer(table: str) -> ProductionPointer:
    return ProductionPointer(boto3.client("dynamodb"), table)
