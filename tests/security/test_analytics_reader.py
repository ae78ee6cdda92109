"""The Athena workgroup and the reader's managed policy: least privilege, one result prefix.

Read from the translated template snapshot (tests/security/translated-template.json).
"""

from __future__ import annotations

from typing import Any

import pytest
from security_support import Statement, as_list, text_of

POLICY = "AnalyticsReaderPolicy/PolicyDocument"
RESULTS_PREFIX = "athena-results/"
TABLE_PREFIXES = ("curated/characters/", "batch/abalone/output/")

#: Everything the reader may do; anything added must be argued for here.
READER_ACTIONS = {
    # run, watch, stop and read queries, only in the stack's workgroup
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
    "athena:GetQueryExecution",
    "athena:BatchGetQueryExecution",
    "athena:ListQueryExecutions",
    "athena:GetQueryResults",
    "athena:GetQueryRuntimeStatistics",
    "athena:GetWorkGroup",
    # read the two tables' definitions (projection: no partition is stored, the Get*Partition* are for
    # engines that still ask); GetTables for SHOW TABLES
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
    # Athena reads the data and writes the results with the caller's credentials
    "s3:GetBucketLocation",
    "s3:ListBucket",
    "s3:GetObject",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
}


@pytest.fixture(scope="module")
def reader(statements: list[Statement]) -> list[Statement]:
    found = [s for s in statements if s.where == POLICY]
    assert found, "the reader policy is missing from the snapshot"
    return found


def actions_of(statements: list[Statement]) -> set[str]:
    return {a for s in statements for a in s.actions}


def test_the_reader_policy_only_allows(reader):
    assert {s.effect for s in reader} == {"Allow"}
    assert all("NotAction" not in s.body and "NotResource" not in s.body for s in reader)


def test_the_reader_gets_exactly_the_listed_actions_and_no_wildcard_action(reader):
    assert actions_of(reader) == READER_ACTIONS
    assert not any("*" in a for a in actions_of(reader))


def test_no_reader_statement_has_a_wildcard_resource(reader):
    for statement in reader:
        for resource in resource_texts(statement):
            assert resource != "*" and not resource.endswith(":*"), f"{statement.sid}: {resource}"


def resource_texts(statement: Statement) -> list[str]:
    return [text_of(r) for r in statement.resources]


def test_athena_actions_are_scoped_to_the_stacks_workgroup(reader):
    for statement in reader:
        if any(a.startswith("athena:") for a in statement.actions):
            assert {a.split(":")[0] for a in statement.actions} == {"athena"}
            assert resource_texts(statement) == [
                "arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/${AthenaWorkGroup}"
            ]


def test_glue_actions_are_read_only_on_the_catalog_the_database_and_its_two_tables(reader):
    glue = [s for s in reader if any(a.startswith("glue:") for a in s.actions)]
    assert all(a.startswith("glue:Get") or a.startswith("glue:BatchGet") for s in glue for a in s.actions)
    base = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:"
    assert {r for s in glue for r in resource_texts(s)} == {
        base + "catalog",
        base + "database/${CatalogDatabase}",
        base + "table/${CatalogDatabase}/${CuratedCharactersTable}",
        base + "table/${CatalogDatabase}/${AbalonePredictionsTable}",
    }


def object_resources(statement: Statement) -> list[str]:
    texts = resource_texts(statement)
    assert all(t.startswith("${DataBucket.Arn}/") for t in texts), f"{statement.sid}: {texts}"
    return [t.removeprefix("${DataBucket.Arn}/") for t in texts]


def test_objects_are_read_only_under_the_two_table_prefixes_and_the_result_prefix(reader):
    readable = {r for s in reader if "s3:GetObject" in s.actions for r in object_resources(s)}
    assert readable == {f"{p}*" for p in (*TABLE_PREFIXES, RESULTS_PREFIX)}


def test_objects_are_written_only_under_the_result_prefix(reader):
    writes = {"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}
    writable = {r for s in reader if writes & set(s.actions) for r in object_resources(s)}
    assert writable == {f"{RESULTS_PREFIX}*"}
    assert not any(a in actions_of(reader) for a in ("s3:DeleteObject", "s3:PutObjectAcl", "s3:PutBucketPolicy"))


def test_listing_the_bucket_is_limited_to_the_three_prefixes(reader):
    (listing,) = [s for s in reader if "s3:ListBucket" in s.actions]
    assert resource_texts(listing) == [text_of({"Fn::GetAtt": ["DataBucket", "Arn"]})]
    assert listing.body["Condition"] == {
        "StringLike": {"s3:prefix": [f"{p}*" for p in (*TABLE_PREFIXES, RESULTS_PREFIX)]}
    }


def test_the_reader_gets_kms_decrypt_exactly_when_the_bucket_uses_a_kms_key(reader, resources):
    (rule,) = resources["DataBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    algorithm = rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
    kms = [s for s in reader if any(a.startswith("kms:") for a in s.actions)]
    if algorithm == "AES256":
        assert kms == [], "the bucket is SSE-S3: there is no key to grant"
    else:
        key = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
        assert any("kms:Decrypt" in s.actions and key in as_list(s.body["Resource"]) for s in kms)


def workgroup_config(resources: dict[str, Any]) -> dict[str, Any]:
    return resources["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]


def test_the_workgroup_enforces_its_settings_and_caps_the_bytes_a_query_scans(resources):
    config = workgroup_config(resources)
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == {"Ref": "AthenaBytesScannedCutoffPerQuery"}
    assert config["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3"}


def test_query_results_are_encrypted_in_the_data_bucket_under_the_result_prefix(resources):
    result = workgroup_config(resources)["ResultConfiguration"]
    assert result["OutputLocation"] == {"Fn::Sub": f"s3://${{DataBucket}}/{RESULTS_PREFIX}"}
    assert result["EncryptionConfiguration"]["EncryptionOption"] in ("SSE_S3", "SSE_KMS", "CSE_KMS")
    assert result["ExpectedBucketOwner"] == {"Ref": "AWS::AccountId"}


def test_query_results_expire(resources):
    rules = resources["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [r for r in rules if r.get("Prefix") == RESULTS_PREFIX]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {"Ref": "AthenaResultsRetentionDays"}


def test_the_data_bucket_denies_requests_without_tls_to_readers_too(resources):
    statements = resources["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
