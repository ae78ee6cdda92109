"""What ``prepare_training`` does (the training state machine's first state), with its AWS calls behind ports.

Find the newest training data and the production model and plan the run (``plan``); for a
person's approval (``{"approve": {"model_package_arn": …}}``), read that package back instead and
hand it straight to the promotion states. Reads only: a retry or a concurrent run changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError

from transient_analytics import layout, naming
from transient_analytics.errors import InvalidEventError
from transient_analytics.runs.plan import resolve_scheduled_time
from transient_analytics.settings import PrepareTrainingSettings
from transient_analytics.slots import Fingerprint, ObjectRef, fingerprint
from transient_analytics.training.plan import PrepareTrainingEvent, TrainingPlan, approval_plan, build_training_plan
from transient_analytics.training.registry import Candidate, Evaluation, ProductionModel, Registration, package_version


class Listing(Protocol):
    def list_prefix(self, bucket: str, prefix: str) -> list[ObjectRef]: ...


class Pointer(Protocol):
    def read(self) -> ProductionModel | None: ...


class Packages(Protocol):
    def describe(self, model_package_arn: str) -> dict[str, Any] | None: ...


class Documents(Protocol):
    def get_json(self, uri: str) -> Any | None: ...


def training_days(bucket: str, listing: Listing) -> dict[datetime, Fingerprint]:
    """Each day under ``training/abalone/`` with data, and what it holds (one paginated listing)."""
    by_day: dict[datetime, list[ObjectRef]] = {}
    for obj in listing.list_prefix(bucket, layout.TRAINING_ROOT + "/"):
        day = layout.training_day_of_key(obj.key)
        if day is not None and obj.size > 0:
            by_day.setdefault(day, []).append(obj)
    return {day: fingerprint(objs) for day, objs in by_day.items()}


def prepare_training(
    event: PrepareTrainingEvent,
    settings: PrepareTrainingSettings,
    now: datetime,
    ports: tuple[Listing, Pointer, Packages, Documents],
) -> tuple[TrainingPlan, Registration | None]:
    listing, pointer, packages, documents = ports
    scheduled, _ = resolve_scheduled_time(event.input.scheduled_time, now, settings.MAX_BACKFILL_DAYS)
    trigger = event.input.trigger or "manual"
    if event.input.approve is not None:
        plan = approval_plan(event, settings, scheduled, trigger)
        return plan, approved_package(event.input.approve.model_package_arn, plan, packages, documents)
    days = training_days(settings.DATA_BUCKET, listing)
    return build_training_plan(event, settings, scheduled, trigger, days, pointer.read()), None


def approved_package(arn: str, plan: TrainingPlan, packages: Packages, documents: Documents) -> Registration:
    """A person's approval of ``arn``: the package read back, to be promoted scores aside."""
    described = packages.describe(arn)
    if described is None:
        raise InvalidEventError(f"input.approve.model_package_arn: no such model package (got {arn!r})")
    group = described.get("ModelPackageGroupName")
    if group != plan.model_package_group:
        raise InvalidEventError(
            f"input.approve.model_package_arn: a package of group {group!r}, not of this stack's "
            f"{plan.model_package_group!r} (got {arn!r})"
        )
    [container, *_] = described["InferenceSpecification"]["Containers"]
    metrics_uri = (((described.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics") or {}).get(
        "S3Uri"
    )
    document = documents.get_json(metrics_uri) if metrics_uri else None
    facts = _candidate_facts(document)
    version = int(described.get("ModelPackageVersion") or package_version(arn))
    candidate = Candidate(
        model_package_arn=arn,
        version=version,
        model_name=naming.model_name(plan.model_base_name, version, arn),
        model_data_url=container["ModelDataUrl"],
        image=container["Image"],
        evaluation_uri=metrics_uri,
        **facts,
    )
    return Registration(candidate=candidate, approve=True, reason="approved by a person", mode="manual")


def _candidate_facts(document: Any) -> dict[str, Any]:
    """What the registered evaluation says about a candidate (empty facts when it is unreadable)."""
    if not isinstance(document, dict):
        return {"algorithm": "unknown"}
    try:
        evaluation = Evaluation.model_validate(document)
    except ValidationError:
        return {"algorithm": "unknown"}
    found = document.get("registered")
    registered: dict[str, Any] = found if isinstance(found, dict) else {}
    return {
        "algorithm": evaluation.candidate.model,
        "rmse": evaluation.candidate.rmse,
        "holdout_sha256": evaluation.holdout.sha256,
        "holdout_rows": evaluation.holdout.rows,
        "data_sha256": evaluation.data.sha256,
        "data_uri": registered.get("data_uri"),
        "data_fingerprint": registered.get("data_fingerprint"),
        "training_job": registered.get("training_job"),
    }
