"""Thin adapters over the model registry's AWS calls: the production pointer, model packages, training outputs.

No rules live here (``gate``, ``registry``, ``plan`` hold them). Each takes a boto3 client, so
tests pass one made under moto.
"""

from __future__ import annotations

import io
import json
import tarfile
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from transient_analytics.layout import split_s3_uri
from transient_analytics.training.registry import MODEL_KEY, ProductionModel

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


class ProductionPointer:
    """DynamoDB: the one item naming the production model (partition key ``model``), swapped conditionally."""

    def __init__(self, client: Any, table_name: str, model: str = MODEL_KEY) -> None:
        self._ddb = client
        self._table = table_name
        self._model = model

    def read(self) -> ProductionModel | None:
        """The pointer as it is now (a consistent read), or None before the first promotion."""
        item = self._ddb.get_item(TableName=self._table, Key={"model": {"S": self._model}}, ConsistentRead=True)
        if "Item" not in item:
            return None
        data = {k: _DESERIALIZER.deserialize(v) for k, v in item["Item"].items() if k != "model"}
        data = {k: (float(v) if k == "rmse" else int(v)) if isinstance(v, Decimal) else v for k, v in data.items()}
        return ProductionModel.model_validate(data)

    def swap(self, new: ProductionModel, expected_revision: int | None) -> bool:
        """Store ``new`` if the pointer is still at ``expected_revision`` (None: no pointer yet); False if it moved."""
        data = new.model_dump(mode="json", exclude_none=True)
        item = {"model": {"S": self._model}} | {
            k: _SERIALIZER.serialize(Decimal(str(v)) if isinstance(v, float) else v) for k, v in data.items()
        }
        if expected_revision is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(model)"}
        else:
            condition = {
                "ConditionExpression": "revision = :r",
                "ExpressionAttributeValues": {":r": {"N": str(expected_revision)}},
            }
        try:
            self._ddb.put_item(TableName=self._table, Item=item, **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


class ModelPackages:
    """SageMaker: the model packages of the stack's group."""

    def __init__(self, client: Any) -> None:
        self._sm = client

    def describe(self, model_package_arn: str) -> dict[str, Any] | None:
        """The package, or None when SageMaker knows no such package (ValidationException)."""
        try:
            return dict(self._sm.describe_model_package(ModelPackageName=model_package_arn))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ValidationException":
                return None
            raise

    def find_by_job(self, group: str, training_job: str, newest: int = 100) -> str | None:
        """The package already registered for ``training_job`` (its description starts with the job's name)."""
        seen = 0
        pages = self._sm.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending"
        )
        for page in pages:
            for summary in page.get("ModelPackageSummaryList", []):
                if str(summary.get("ModelPackageDescription", "")).startswith(f"{training_job}:"):
                    return str(summary["ModelPackageArn"])
                seen += 1
                if seen >= newest:
                    return None
        return None

    def create(self, request: dict[str, Any]) -> str:
        return str(self._sm.create_model_package(**request)["ModelPackageArn"])


class TrainingOutputs:
    """S3: a training job's ``output.tar.gz`` members, and the JSON documents registered beside it."""

    def __init__(self, client: Any) -> None:
        self._s3 = client

    def archive_member(self, archive_uri: str, member: str) -> bytes | None:
        """``member`` of the ``.tar.gz`` at ``archive_uri`` (None when the archive or the member is missing)."""
        bucket, key = split_s3_uri(archive_uri)
        try:
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
            for info in tar.getmembers():
                if info.isfile() and info.name.lstrip("./") == member:
                    extracted = tar.extractfile(info)
                    return extracted.read() if extracted else None
        return None

    def put_json(self, uri: str, document: Any) -> None:
        bucket, key = split_s3_uri(uri)
        body = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")

    def get_json(self, uri: str) -> Any | None:
        bucket, key = split_s3_uri(uri)
        try:
            return json.loads(self._s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
