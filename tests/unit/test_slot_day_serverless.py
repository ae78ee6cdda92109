"""The serverless backend of bench.bench_slot_day: its start-up model, its bill, its cost, its report.

Behaviours, never durations of this machine: a job run on a started application starts sooner than
on a stopped one, which stops after the idle timeout; a short job run is billed one minute per
worker; every run's cost is runs/cost.py's price of the usage AWS would report, and the slots' shares add
up to it; both backends get the same seeded day and lose no slot; the assumptions the bench takes
from the template are the template's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bench import bench_slot_day as bench
from bench.slot_day_backends import INSTANCE_SPECS, ClusterBackend, ServerlessBackend
from bench.slot_day_ledger import execution_context, settings, simulate_ledger
from bench.slot_day_model import Assumptions, make_day, spark_time
from bench.slot_day_outcome import Outcome, nearest_rank
from bench.slot_day_serverless import (
    APPLICATION_ID,
    TEMPLATE_IDLE_TIMEOUT_MINUTES,
    TEMPLATE_MAXIMUM_MEMORY_GB,
    TEMPLATE_MAXIMUM_VCPU,
    Application,
    ServerlessTiming,
    worker_conf,
)
from offline.cfn.template import load_template
from transient_analytics import layout
from transient_analytics.models import PrepareRunEvent, RunRequest
from transient_analytics.runs.cost import (
    Architecture,
    ClusterUsage,
    PriceTable,
    ServerlessUsage,
    run_cost,
    usage_from_cluster,
    usage_from_job_run,
)
from transient_analytics.runs.plan import RunPlan, build_plan
from transient_analytics.settings import SparkBackend
from transient_analytics.slots import ObjectRef, fingerprint

ROOT = Path(__file__).resolve().parents[2]
SHORT_DAY = Assumptions(ticks=32)
T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def a_plan(at: datetime, backend: SparkBackend, seq: int = 1) -> RunPlan:
    """The layer's plan for one slot of 2M rows (120 MB) closed at ``at``, on ``backend``."""
    prep, _ = settings(backend)
    slot = at - timedelta(minutes=15)
    ref = ObjectRef(key=layout.emr_input_prefix(slot) + "part-000.csv", etag="e" * 32, size=120_000_000)
    event = PrepareRunEvent(
        pipeline="emr", input=RunRequest(scheduled_time=at, trigger="schedule"), execution=execution_context(seq)
    )
    return build_plan(event, prep, at, "schedule", [(slot, fingerprint([ref]))], "test")


def test_a_job_run_on_a_started_application_starts_sooner_than_one_on_a_stopped_application() -> None:
    timing = ServerlessTiming()
    backend = ServerlessBackend(SHORT_DAY, timing)
    first = backend.start(T0, a_plan(T0, "serverless", 1), rows=2_000_000, fails=False)
    # the next tick comes 15 minutes later; the first job ended minutes after its own tick: still started
    later = T0 + timedelta(minutes=15)
    second = backend.start(later, a_plan(later, "serverless", 2), rows=2_000_000, fails=False)
    assert first.cold and not second.cold
    assert first.duration - second.duration == timing.app_start
    assert second.duration == timing.job_start + spark_time(SHORT_DAY, 2_000_000)


def test_the_application_stops_after_the_idle_timeout_and_not_while_a_job_runs() -> None:
    app = Application(timedelta(minutes=TEMPLATE_IDLE_TIMEOUT_MINUTES))
    assert not app.started(T0)  # nothing ever ran: stopped
    app.add(T0, T0 + timedelta(minutes=3))
    assert app.started(T0 + timedelta(minutes=1))  # running
    assert app.started(T0 + timedelta(minutes=3 + TEMPLATE_IDLE_TIMEOUT_MINUTES) - timedelta(seconds=1))
    assert not app.started(
        T0 + timedelta(minutes=3 + TEMPLATE_IDLE_TIMEOUT_MINUTES)
    )  # idle for the whole timeout: auto-stopped


def test_a_longer_idle_timeout_means_fewer_cold_starts_and_every_run_is_warm_or_cold() -> None:
    day = make_day(SHORT_DAY)
    short = simulate_ledger(SHORT_DAY, day, ServerlessBackend(SHORT_DAY, ServerlessTiming()))
    long = simulate_ledger(
        SHORT_DAY, day, ServerlessBackend(SHORT_DAY, ServerlessTiming(idle_timeout=timedelta(hours=4)))
    )
    assert 1 <= long.cold_starts < short.cold_starts <= short.runs  # a tick without data lets it stop
    assert long.cold_starts == 1  # only the first run of the day finds it stopped


def test_a_short_job_run_is_billed_one_minute_per_worker() -> None:
    quick = Assumptions(ticks=32, step_overhead=timedelta(seconds=10))
    backend = ServerlessBackend(quick, ServerlessTiming())
    plan = a_plan(T0, "serverless")
    assert plan.serverless is not None
    backend.start(T0, plan, rows=0, fails=False)  # 10 s of work
    usage = backend.job_run_usage(APPLICATION_ID, None, plan.serverless.job_name, Architecture.ARM64)
    # 1 driver (2 vCPU, 4g + 10 % -> 5 GB) + 4 executors (4 vCPU, 8g + 10 % -> 9 GB), one minute each
    assert usage.vcpu_hours == Decimal(18 * 60) / 3600
    assert usage.memory_gb_hours == Decimal(str(round(41 * 60 / 3600, 6)))
    assert usage.storage_gb_hours == 0  # 20 GB of disk per worker: all free
    used = backend.responses[plan.serverless.job_name]["jobRun"]["totalResourceUtilization"]
    assert used["vCPUHour"] == pytest.approx(18 * 10 / 3600, abs=1e-6)  # what ran is less than what is billed


def test_each_backend_refuses_a_plan_for_the_other() -> None:
    with pytest.raises(ValueError, match="no serverless job"):
        ServerlessBackend(SHORT_DAY, ServerlessTiming()).start(T0, a_plan(T0, "cluster"), 1, False)
    with pytest.raises(ValueError, match="no cluster"):
        ClusterBackend(SHORT_DAY).start(T0, a_plan(T0, "serverless"), 1, False)


@pytest.mark.parametrize("backend_name", ["cluster", "serverless"])
def test_every_runs_cost_is_cost_py_s_price_of_its_reported_usage_and_the_slot_shares_add_up(
    backend_name: str,
) -> None:
    backend: ClusterBackend | ServerlessBackend = (
        ClusterBackend(SHORT_DAY) if backend_name == "cluster" else ServerlessBackend(SHORT_DAY, ServerlessTiming())
    )
    out = simulate_ledger(SHORT_DAY, make_day(SHORT_DAY), backend)
    prices = PriceTable()
    usages: list[ClusterUsage | ServerlessUsage]
    if isinstance(backend, ClusterBackend):
        usages = [usage_from_cluster(*r) for r in backend.responses.values()]
    else:
        usages = [usage_from_job_run(r, Architecture.ARM64) for r in backend.responses.values()]
    assert len(usages) == out.runs > 0
    assert out.cost_usd == sum((run_cost(u, prices) for u in usages), Decimal(0))
    assert sum(out.slot_cost_usd.values(), Decimal(0)) == out.cost_usd  # slot_costs' shares, exactly
    assert out.cost_per_slot == out.cost_usd / out.slots_with_data


def test_the_cost_comes_from_the_price_table_a_missing_price_is_named() -> None:
    day = make_day(SHORT_DAY)
    with pytest.raises(RuntimeError, match="EC2_INSTANCE_HOUR_USD"):
        simulate_ledger(SHORT_DAY, day, ClusterBackend(SHORT_DAY), PriceTable(EC2_INSTANCE_HOUR_USD={}))
    dearer = PriceTable(EMR_SERVERLESS_ARM64_VCPU_HOUR_USD=Decimal("0.0841984"))  # twice the default
    base = simulate_ledger(SHORT_DAY, day, ServerlessBackend(SHORT_DAY, ServerlessTiming()))
    doubled = simulate_ledger(SHORT_DAY, day, ServerlessBackend(SHORT_DAY, ServerlessTiming()), dearer)
    assert base.cost_usd < doubled.cost_usd < 2 * base.cost_usd  # only the vCPU part doubles


def test_the_same_seed_gives_both_backends_the_same_day_and_neither_loses_a_slot() -> None:
    assert make_day(SHORT_DAY) == make_day(SHORT_DAY)
    r = bench.simulate(SHORT_DAY)
    assert r.cluster.slots_with_data == r.serverless.slots_with_data == r.v1.slots_with_data
    assert r.cluster.lost == r.serverless.lost == 0
    assert r.cluster.waiting == r.serverless.waiting == 0
    assert r.cluster.converted == r.serverless.converted
    assert set(r.cluster.slot_cost_usd) == set(r.serverless.slot_cost_usd)  # the same slots were run and priced
    assert r.serverless.cluster_minutes == 0 and r.serverless.vcpu_minutes > 0


def test_without_a_cluster_start_the_serverless_lag_is_shorter_and_a_run_cheaper() -> None:
    r = bench.simulate(SHORT_DAY)
    assert r.serverless.max_lag_minutes < r.cluster.max_lag_minutes
    assert r.serverless.p95_lag_minutes < r.cluster.p95_lag_minutes
    assert r.serverless.cost_per_slot < r.cluster.cost_per_slot


def test_doubling_the_start_up_lengthens_the_lag_and_billing_it_raises_the_cost() -> None:
    timing = ServerlessTiming()
    base = bench.simulate_serverless(SHORT_DAY, timing)
    slower = bench.simulate_serverless(SHORT_DAY, timing.scaled(2))
    billed = bench.simulate_serverless(SHORT_DAY, timing.scaled(2, bill_start_up=True))
    assert slower.p95_lag_minutes > base.p95_lag_minutes
    assert slower.cost_usd == base.cost_usd  # start-up is latency, not billed usage
    assert billed.cost_usd > base.cost_usd


def _outcome(cost: str, lags: list[float]) -> Outcome:
    return Outcome(cost_usd=Decimal(cost), slots_with_data=10, lags=lags)


@pytest.mark.parametrize(
    ("cluster_cost", "serverless_cost", "lags", "verdict"),
    [
        ("1.30", "0.20", [3.0] * 20, "Goal MET"),  # 6.5x, p95 3 min
        ("1.30", "0.30", [3.0] * 20, "Goal NOT MET"),  # 4.3x
        ("1.30", "0.20", [3.0] * 18 + [6.0] * 2, "Goal NOT MET"),  # 10 % over 5 min: p95 6 min
        ("1.30", "0.20", [3.0] * 19 + [6.0], "Goal MET"),  # 5 % over: the p95 is still 3 min
    ],
)
def test_the_verdict_states_whether_the_goal_is_met(
    cluster_cost: str, serverless_cost: str, lags: list[float], verdict: str
) -> None:
    line = bench.verdict(_outcome(cluster_cost, [20.0]), _outcome(serverless_cost, lags))
    assert f"{verdict} under the assumptions above" in line


def test_the_95th_percentile_is_the_nearest_rank() -> None:
    assert nearest_rank([float(v) for v in range(1, 21)], 95) == 19
    assert nearest_rank([float(v) for v in range(100, 0, -1)], 95) == 95
    assert nearest_rank([], 95) == 0


def test_the_assumptions_taken_from_the_template_are_its_defaults() -> None:
    parameters = load_template(ROOT / "template.yaml")["Parameters"]
    prep, _ = settings("serverless")
    assert int(parameters["ServerlessIdleTimeoutMinutes"]["Default"]) == TEMPLATE_IDLE_TIMEOUT_MINUTES
    assert int(parameters["ServerlessMaximumVcpu"]["Default"]) == TEMPLATE_MAXIMUM_VCPU
    assert int(parameters["ServerlessMaximumMemoryGB"]["Default"]) == TEMPLATE_MAXIMUM_MEMORY_GB
    assert parameters["ServerlessSparkSubmitParameters"]["Default"] == prep.SERVERLESS_SPARK_SUBMIT_PARAMETERS
    assert worker_conf(prep.SERVERLESS_SPARK_SUBMIT_PARAMETERS)["spark.executor.instances"] == "4"
    assert int(parameters["EmrCoreInstanceCount"]["Default"]) == prep.EMR_CORE_INSTANCE_COUNT
    for name in ("EmrPrimaryInstanceType", "EmrCoreInstanceType"):
        assert parameters[name]["Default"] in INSTANCE_SPECS


def test_the_report_prints_the_assumptions_and_their_sources_then_the_columns_and_the_verdict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert bench.main(["--ticks", "24", "--job-start", "45", "--app-start", "30"]) == 0
    printed = capsys.readouterr().out
    table = printed.index("cost per slot with data (USD)")
    assert printed.index("Assumptions:") < printed.index("serverless start-up (ASSUMED): 45 s") < table
    assert printed.index("source: AWS publishes no start-up time") < table
    assert "75 s when it had stopped" in printed
    assert any("ledger + cluster" in line and "ledger + serverless" in line for line in printed[:table].splitlines())
    for row in ("vCPU-minutes billed", "GB-minutes billed", "cost for the day (USD)", "95th-percentile lag (minutes)"):
        assert row in printed
    assert printed.index("verdict: serverless is") > table
    assert "start-up x2 (90 s started, 150 s cold)" in printed
