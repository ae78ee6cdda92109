"""The cost of a run and of its slots: billed usage x a price table, split by landing bytes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transient_analytics.errors import ConfigurationError
from transient_analytics.runs.cost import (
    Architecture,
    ClusterUsage,
    CostInputError,
    InstanceGroupUsage,
    MissingPrice,
    PriceTable,
    ServerlessUsage,
    billed_seconds,
    cost_items,
    run_cost,
    slot_costs,
    usage_from_cluster,
    usage_from_job_run,
)
from transient_analytics.settings import load_settings

CREATED = datetime(2026, 11, 25, 20, 16, 5, tzinfo=UTC)


def job_run_response(state: str = "SUCCESS", **billed: float) -> dict:
    """What boto3's get_job_run returns (floats, camelCase), trimmed to what matters here."""
    utilization = {"vCPUHour": 0.1, "memoryGBHour": 0.4, "storageGBHour": 0.0} | billed
    return {
        "jobRun": {
            "applicationId": "00abc",
            "jobRunId": "00def",
            "state": state,
            "stateDetails": "",
            "billedResourceUtilization": utilization,
            "totalResourceUtilization": {"vCPUHour": 0.05, "memoryGBHour": 0.2, "storageGBHour": 0.0},
            "totalExecutionDurationSeconds": 75,
        }
    }


def cluster_responses(created: object = CREATED, ended: object = CREATED + timedelta(minutes=9, seconds=30.2)):
    describe = {
        "Cluster": {
            "Id": "j-1",
            "Status": {"State": "TERMINATED", "Timeline": {"CreationDateTime": created, "EndDateTime": ended}},
        }
    }
    group = {"InstanceType": "m7g.xlarge", "Market": "ON_DEMAND", "RunningInstanceCount": 0}
    groups = {
        "InstanceGroups": [
            {**group, "InstanceGroupType": "MASTER", "RequestedInstanceCount": 1},
            {**group, "InstanceGroupType": "CORE", "RequestedInstanceCount": 2},
            {**group, "InstanceGroupType": "TASK", "RequestedInstanceCount": 0, "Market": "SPOT"},
        ]
    }
    return describe, groups


def test_a_serverless_run_costs_its_billed_vcpu_memory_and_storage_hours_at_the_x86_prices():
    # GIVEN a finished job run that AWS billed 0.25 vCPU-hours, 1 GB-hour... (boto3 floats)
    usage = usage_from_job_run(job_run_response(vCPUHour=0.25, memoryGBHour=1.0, storageGBHour=2.5))
    # THEN the usage is the billed figures, exactly as printed, on x86 unless told otherwise
    assert usage == ServerlessUsage(
        architecture=Architecture.X86_64,
        vcpu_hours=Decimal("0.25"),
        memory_gb_hours=Decimal("1.0"),
        storage_gb_hours=Decimal("2.5"),
    )
    # AND its cost is 0.25 x 0.052624 + 1 x 0.0057785 + 2.5 x 0.000111 = 0.0192120 USD
    assert run_cost(usage, PriceTable()) == Decimal("0.019212")


def test_an_arm64_run_is_priced_at_the_arm64_prices_and_a_blank_one_is_named_as_missing():
    usage = usage_from_job_run(job_run_response(), architecture="ARM64")
    # GIVEN the default ARM64 prices: the x86 prices less the 20 % AWS states for Graviton
    assert Decimal("0.052624") * Decimal("0.8") == PriceTable().EMR_SERVERLESS_ARM64_VCPU_HOUR_USD
    assert Decimal("0.0057785") * Decimal("0.8") == PriceTable().EMR_SERVERLESS_ARM64_MEMORY_GB_HOUR_USD
    # WHEN an ARM64 price is set blank (the template parameter emptied) THEN the error names the variable to set
    blank = load_settings(PriceTable, {"EMR_SERVERLESS_ARM64_VCPU_HOUR_USD": ""})
    with pytest.raises(MissingPrice, match="EMR_SERVERLESS_ARM64_VCPU_HOUR_USD: no price configured"):
        run_cost(usage, blank)
    # WHEN they are THEN they are the ones used (0.1 x 0.04 + 0.4 x 0.005 + 0)
    prices = PriceTable(
        EMR_SERVERLESS_ARM64_VCPU_HOUR_USD=Decimal("0.04"), EMR_SERVERLESS_ARM64_MEMORY_GB_HOUR_USD=Decimal("0.005")
    )
    assert run_cost(usage, prices) == Decimal("0.006")
    assert [i.item for i in cost_items(usage, prices)][:2] == [
        "EMR Serverless ARM64 vCPU",
        "EMR Serverless ARM64 memory",
    ]


@pytest.mark.parametrize("state", ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "CANCELLING", "QUEUED"])
def test_a_job_run_that_has_not_finished_has_no_final_bill(state):
    with pytest.raises(CostInputError, match=f"GetJobRun: jobRun.state: '{state}' is not final"):
        usage_from_job_run(job_run_response(state))


@pytest.mark.parametrize("state", ["SUCCESS", "FAILED", "CANCELLED"])
def test_failed_and_cancelled_job_runs_are_billed_too(state):
    assert usage_from_job_run(job_run_response(state)).vcpu_hours == Decimal("0.1")


@pytest.mark.parametrize(
    "mangle, expected",
    [
        (
            lambda r: r["jobRun"].pop("billedResourceUtilization"),
            "GetJobRun: jobRun.billedResourceUtilization: Field required",
        ),
        (
            lambda r: r["jobRun"]["billedResourceUtilization"].pop("vCPUHour"),
            "jobRun.billedResourceUtilization.vCPUHour: Field required",
        ),
        (
            lambda r: r["jobRun"]["billedResourceUtilization"].update(memoryGBHour=-1.0),
            "jobRun.billedResourceUtilization.memoryGBHour: Input should be greater than or equal to 0",
        ),
        (
            lambda r: r["jobRun"]["billedResourceUtilization"].update(storageGBHour="lots"),
            "jobRun.billedResourceUtilization.storageGBHour: Input should be a valid decimal",
        ),
        (lambda r: r.pop("jobRun"), "GetJobRun: jobRun: Field required"),
    ],
)
def test_a_malformed_get_job_run_response_is_refused_naming_the_field(mangle, expected):
    response = job_run_response()
    mangle(response)
    with pytest.raises(CostInputError) as error:
        usage_from_job_run(response)
    assert expected in str(error.value)


@pytest.mark.parametrize(
    "seconds, billed",
    [(0, 60), (0.4, 60), (59.999, 60), (60, 60), (60.001, 61), (61.2, 62), (570.2, 571), (3600, 3600)],
)
def test_an_instance_is_billed_per_started_second_with_a_one_minute_minimum(seconds, billed):
    assert billed_seconds(CREATED, CREATED + timedelta(seconds=seconds)) == billed


def test_a_cluster_is_billed_per_instance_from_its_creation_to_its_end_at_ec2_plus_the_emr_uplift():
    # GIVEN a terminated cluster that lived 9 min 30.2 s: 1 primary, 2 core, a Spot task group of 0
    usage = usage_from_cluster(*cluster_responses())
    assert usage == ClusterUsage(
        groups=(
            InstanceGroupUsage(role="MASTER", instance_type="m7g.xlarge", count=1, billed_seconds=571),
            InstanceGroupUsage(role="CORE", instance_type="m7g.xlarge", count=2, billed_seconds=571),
            InstanceGroupUsage(role="TASK", instance_type="m7g.xlarge", market="SPOT", count=0, billed_seconds=571),
        )
    )
    # WHEN the EMR uplift of the instance type is not configured THEN the error names the variable and the type
    with pytest.raises(MissingPrice, match="EMR_INSTANCE_HOUR_USD: 'm7g.xlarge': no price configured"):
        run_cost(usage, PriceTable(EMR_INSTANCE_HOUR_USD={}))
    # WHEN it is THEN 3 instances x 571 s at (0.1632 + 0.05) USD/h = 1713 s x 0.2132 / 3600 = 0.101448 USD
    prices = PriceTable(EMR_INSTANCE_HOUR_USD={"m7g.xlarge": Decimal("0.05")})
    assert run_cost(usage, prices) == Decimal("0.101448")


def test_an_interval_that_ends_before_it_starts_or_has_no_timezone_is_refused():
    with pytest.raises(CostInputError, match="is before started"):
        billed_seconds(CREATED, CREATED - timedelta(seconds=1))
    with pytest.raises(CostInputError, match="timezone-aware"):
        billed_seconds(CREATED.replace(tzinfo=None), CREATED)


def test_a_short_cluster_pays_the_one_minute_minimum_per_instance():
    describe, groups = cluster_responses(ended=CREATED + timedelta(seconds=20))
    usage = usage_from_cluster(describe, groups)
    assert {g.billed_seconds for g in usage.groups} == {60}
    prices = PriceTable(
        EC2_INSTANCE_HOUR_USD={"m7g.xlarge": Decimal("3.6")}, EMR_INSTANCE_HOUR_USD={"m7g.xlarge": Decimal(0)}
    )
    assert run_cost(usage, prices) == Decimal("0.18")  # 3 instances x 60 s x 0.001 USD/s


def test_cluster_times_may_come_as_iso_text_as_they_do_through_step_functions():
    describe, groups = cluster_responses(created="2026-11-25T20:16:05Z", ended="2026-11-25T20:26:05.500+00:00")
    assert usage_from_cluster(describe, groups).groups[0].billed_seconds == 601


@pytest.mark.parametrize(
    "mangle, expected",
    [
        (
            lambda d, g: d["Cluster"]["Status"]["Timeline"].pop("EndDateTime"),
            "DescribeCluster: Cluster.Status.Timeline.EndDateTime: Field required",
        ),
        (
            lambda d, g: g["InstanceGroups"][1].pop("RequestedInstanceCount"),
            "ListInstanceGroups: InstanceGroups.1.RequestedInstanceCount: Field required",
        ),
        (
            lambda d, g: g["InstanceGroups"][0].update(InstanceGroupType="LEADER"),
            "ListInstanceGroups: InstanceGroups.0.InstanceGroupType: Input should be 'MASTER', 'CORE' or 'TASK'",
        ),
        (
            lambda d, g: g.update(InstanceGroups=[]),
            "ListInstanceGroups: InstanceGroups: List should have at least 1 item",
        ),
        (
            lambda d, g: d["Cluster"]["Status"]["Timeline"].update(EndDateTime=CREATED - timedelta(minutes=1)),
            "DescribeCluster: Cluster.Status.Timeline: ended:",
        ),
    ],
)
def test_malformed_cluster_responses_are_refused_naming_the_field(mangle, expected):
    describe, groups = cluster_responses()
    mangle(describe, groups)
    with pytest.raises(CostInputError) as error:
        usage_from_cluster(describe, groups)
    assert expected in str(error.value)


def test_a_run_cost_is_rounded_half_up_to_a_micro_dollar():
    # 1 vCPU-hour x 0.0000015 = 0.0000015 -> 0.000002; 0.0000014 -> 0.000001
    usage = ServerlessUsage(
        architecture="X86_64", vcpu_hours=Decimal(1), memory_gb_hours=Decimal(0), storage_gb_hours=Decimal(0)
    )
    assert run_cost(usage, PriceTable(EMR_SERVERLESS_X86_64_VCPU_HOUR_USD=Decimal("0.0000015"))) == Decimal("0.000002")
    assert run_cost(usage, PriceTable(EMR_SERVERLESS_X86_64_VCPU_HOUR_USD=Decimal("0.0000014"))) == Decimal("0.000001")


def test_a_run_cost_is_split_among_its_slots_by_landing_bytes():
    shares = slot_costs(Decimal("0.30"), {"2026-11-25T20:00Z": 100, "2026-11-25T20:15Z": 200, "2026-11-25T20:30Z": 0})
    assert shares == {
        "2026-11-25T20:00Z": Decimal("0.1"),
        "2026-11-25T20:15Z": Decimal("0.2"),
        "2026-11-25T20:30Z": Decimal(0),
    }


def test_shares_that_do_not_divide_evenly_still_add_up_to_the_run_cost_to_the_micro_dollar():
    # 0.000010 / 3 = 0.0000033…: the one micro-dollar left over goes to the first slot (equal remainders)
    shares = slot_costs(Decimal("0.00001"), {"a": 1, "b": 1, "c": 1})
    assert shares == {"a": Decimal("0.000004"), "b": Decimal("0.000003"), "c": Decimal("0.000003")}
    # the largest remainder wins the leftover micro-dollars
    shares = slot_costs(Decimal("0.000010"), {"a": 1, "b": 2})  # 3.33… and 6.66… micro-dollars
    assert shares == {"a": Decimal("0.000003"), "b": Decimal("0.000007")}


def test_a_run_of_empty_slots_is_split_equally():
    assert slot_costs(Decimal("0.000004"), {"a": 0, "b": 0}) == {"a": Decimal("0.000002"), "b": Decimal("0.000002")}


def test_a_cost_cannot_be_split_among_no_slots_or_negative_bytes():
    with pytest.raises(CostInputError, match=r"slots: a run's cost \(\$0.5\) cannot be split among no slots"):
        slot_costs(Decimal("0.5"), {})
    with pytest.raises(CostInputError, match="slots: bytes must not be negative"):
        slot_costs(Decimal("0.5"), {"a": -1})
    with pytest.raises(CostInputError, match="run_cost: must not be negative"):
        slot_costs(Decimal("-0.5"), {"a": 1})


@given(
    cost=st.decimals(min_value=0, max_value=1000, places=6),
    weights=st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 10**12), min_size=1, max_size=20),
)
def test_slot_shares_are_never_negative_and_always_add_up_to_the_run_cost(cost, weights):
    shares = slot_costs(cost, weights)
    assert set(shares) == set(weights)
    assert sum(shares.values()) == cost
    assert all(s >= 0 for s in shares.values())
    # and no share is more than a micro-dollar off its exact proportion
    total = sum(weights.values())
    for slot, share in shares.items():
        exact = cost * weights[slot] / total if total else cost / len(weights)
        assert abs(share - exact) < Decimal("0.000001")


def test_prices_are_read_from_the_environment_by_their_names():
    environ = {
        "EMR_SERVERLESS_ARM64_VCPU_HOUR_USD": "0.04",
        "EMR_SERVERLESS_STORAGE_GB_HOUR_USD": "",
        "EMR_INSTANCE_HOUR_USD": '{"m7g.xlarge": "0.05", "m7g.2xlarge": 0.1}',
        "PATH": "/usr/bin",
    }
    prices = load_settings(PriceTable, environ)
    assert Decimal("0.04") == prices.EMR_SERVERLESS_ARM64_VCPU_HOUR_USD
    assert prices.EMR_SERVERLESS_STORAGE_GB_HOUR_USD is None  # blank: not configured
    assert {"m7g.xlarge": Decimal("0.05"), "m7g.2xlarge": Decimal("0.1")} == prices.EMR_INSTANCE_HOUR_USD
    assert {"m7g.xlarge": Decimal("0.1632")} == prices.EC2_INSTANCE_HOUR_USD  # the default
    with pytest.raises(
        ConfigurationError, match="environment.EMR_INSTANCE_HOUR_USD: Value error, must be a JSON object"
    ):
        load_settings(PriceTable, {"EMR_INSTANCE_HOUR_USD": "m7g.xlarge=0.05"})
    with pytest.raises(
        ConfigurationError,
        match="environment.EMR_SERVERLESS_X86_64_VCPU_HOUR_USD: Input should be greater than or equal to 0",
    ):
        load_settings(PriceTable, {"EMR_SERVERLESS_X86_64_VCPU_HOUR_USD": "-1"})
