"""What the prepare_run and record_slots function tests share: landing objects, events, the ledger's contents."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3
import pytest

from tests.support import lambda_context, load_event
from transient_analytics.ledger.records import SlotRecord
from transient_analytics.ledger.store import SlotLedger

ENV = load_event("env")
BUCKET = ENV["PrepareRunFunction"]["DATA_BUCKET"]
TABLE = ENV["PrepareRunFunction"]["LEDGER_TABLE"]
EMR_EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:transient-analytics-dev-emr-pipeline:{}"


def land(slot: str, name: str = "part-0.csv", body: bytes = b"name,class\nA,Titan\n") -> str:
    """Put a landing object into the EMR slot ``slot`` (``2026-11-25T19:45Z``)."""
    t = datetime.strptime(slot, "%Y-%m-%dT%H:%MZ")
    key = f"landing/characters/dt={t:%Y-%m-%d}/hour={t:%H}/minute={t:%M}/{name}"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
    return key


def emr_event(name: str, **input_: Any) -> dict[str, Any]:
    event = load_event("prepare_run/scheduled_emr")
    event["execution"]["id"], event["execution"]["name"] = EMR_EXECUTION.format(name), name
    event["input"] = input_
    return event


def plan_for(module: Any, event: dict[str, Any]) -> dict[str, Any]:
    return module.lambda_handler(event, lambda_context())


def store() -> SlotLedger:
    return SlotLedger(boto3.client("dynamodb"), TABLE)


def records(pipeline: str = "emr") -> dict[str, SlotRecord]:
    return store().window(pipeline, "2000-01-01T00:00Z", "2100-01-01T00:00Z")


def metrics_of(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The EMF document the handler printed (Powertools Metrics flushes to stdout)."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert len(lines) == 1, lines
    return lines[0]
