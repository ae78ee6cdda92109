"""The soak's clock: every 15 minutes an EMR tick and every day at 06:00 a transform tick, through the
template's state machines and the real handlers on the offline twin, with the faults of :mod:`demo.soak.faults`.

Times are simulated: PrepareRun's clock is the tick plus 30 s (it dates the execution too),
RecordSlots' the tick plus 13 minutes (a cluster start and a step), NotifyFailure's when the run
ended plus a minute. After the span, ticks go on without new data or faults until nothing is left
to do (a lease may have to run out), then :mod:`demo.soak.tally` counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from demo.soak import world as w
from demo.soak.faults import ClaimRace, ClientFaults, Draws
from demo.soak.steps import SoakClusters, SoakStep, SoakTransform
from offline.harness import ExecutionResult, OfflineHarness
from offline.lambdas import LambdaFault
from offline.runners.emr import EMR_ADD_STEP, EMR_CREATE, EmrRunner
from offline.runners.sagemaker import SAGEMAKER_TRANSFORM
from offline.runners.simulated_step import SimulatedSparkStep
from tools.publish import JOB_PATH, SCHEMA_PATH
from transient_analytics import layout
from transient_analytics.ledger.store import SlotLedger
from transient_analytics.slots import GRIDS, slot_id
from transient_analytics.training.model_registry import ProductionPointer
from transient_analytics.training.registry import ProductionModel

EMR, TRANSFORM = "EmrPipelineStateMachine", "BatchTransformStateMachine"
MAX_DRAIN_TICKS = 16
BATCH_ROWS = (Path(__file__).resolve().parents[2] / "data" / "abalone" / "batch.csv").read_text().splitlines()[:40]


@dataclass
class Played:
    """What the soak saw happen (the tally reads the ledger and S3 itself)."""

    results: list[ExecutionResult] = field(default_factory=list)
    #: execution ARN → {slot: when it claimed the slot}, for each run that ended still holding slots.
    dead: dict[str, dict[str, datetime]] = field(default_factory=dict)
    #: (execution ARN, slot) → how long the dead run held it.
    holds: dict[tuple[str, str], timedelta] = field(default_factory=dict)
    deliveries: int = 0
    notifier_errors: int = 0
    drain_ticks: int = 0


class Soak:
    def __init__(
        self,
        h: OfflineHarness,
        world: w.World,
        draws: Draws,
        work_dir: Path,
        real_spark: int,
        echo: Callable[[str], None],
    ):
        self.h, self.world, self.draws, self.echo = h, world, draws, echo
        self.bucket = h.stack.ref("DataBucket")
        self.s3 = boto3.client("s3", region_name=h.region)
        self.ledger = SlotLedger(boto3.client("dynamodb", region_name=h.region), h.stack.ref("SlotLedgerTable"))
        emr = EmrRunner(work_dir, region=h.region).register(h)
        simulated = SimulatedSparkStep(region=h.region, fail=_ids(world.bad_rows), crash_at=_ids(world.crashing))
        self.step = SoakStep(emr, simulated, real_left=real_spark)
        self.clusters = SoakClusters(emr)
        self.transform = SoakTransform(h.region)
        for arn, runner in (
            (EMR_ADD_STEP, self.step),
            (EMR_CREATE, self.clusters),
            (SAGEMAKER_TRANSFORM, self.transform),
        ):
            h.runners.register(arn, runner)
        self.faults = ClientFaults()
        self.race = self._install_client_faults()
        self.played = Played()
        #: The tick an overlapping tick already ran (the main loop skips it).
        self.ran_ahead = -1
        for path, key in ((JOB_PATH, layout.JOB_KEY), (SCHEMA_PATH, layout.SCHEMA_KEY)):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=path.read_bytes())
        self._promote_stand_in_model()

    def _promote_stand_in_model(self) -> None:
        """A production model for the transform ticks (PrepareRun claims transform slots only with one).

        The soak's transform jobs are simulated (:class:`SoakTransform` loads no model), so production
        names a stand-in, as a promotion would leave the pointer; no training runs.
        """
        group = f"{self.h.stack.stack_name}-abalone"
        model = ProductionModel(
            revision=1,
            model_package_arn=f"arn:aws:sagemaker:{self.h.region}:{self.h.account_id}:model-package/{group}/1",
            version=1,
            model_name="ta-abalone-v1-50a5e0de",
            model_data_url=f"s3://{self.bucket}/models/abalone/dt=2026-11-24/run=soak/job/output/model.tar.gz",
            promoted_at="2026-11-24T00:00:00Z",
            promoted_by="the soak (a stand-in: its transform jobs are simulated)",
        )
        table = self.h.stack.ref("ProductionModelTable")
        ProductionPointer(boto3.client("dynamodb", region_name=self.h.region), table).swap(model, None)

    def _install_client_faults(self) -> ClaimRace:
        """Build each function's cached clients in its own environment, then hook the faults into them."""
        lambdas, built = self.h.lambdas, dict[str, tuple[Any, ...]]()
        for fn in ("PrepareRunFunction", "RecordSlotsFunction", "NotifyFailureFunction"):
            module = lambdas.module(fn)
            with lambdas.environment_of(fn):
                built[fn] = module.ports() if hasattr(module, "ports") else (module.ledger(), module.topic())
                if fn == "NotifyFailureFunction":
                    module.reports(), module.executions(), module.clusters(), module.settings()
        (objects, store, _), (r_store, _, r_topic, _), (n_store, n_topic) = (built[f] for f in built)
        self.faults.install(store._ddb, s3=objects._s3)
        self.faults.install(r_store._ddb, sns=r_topic._sns)
        self.faults.install(n_store._ddb, sns=n_topic._sns)
        prepare = lambdas.module("PrepareRunFunction")
        race = ClaimRace(store._ddb, self.h.stack.ref("SlotLedgerTable"), prepare.settings)
        store._ddb = race
        return race

    # ------------------------------------------------------------------ the data
    def _put(self, index: int, name: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=layout.emr_input_prefix(w.slot_start(index)) + name, Body=body)

    def land(self, tick: int) -> None:
        for i in self.world.landed_at(tick):
            self._put(i, "part-0.csv", self.world.body(i))
        for i, at in self.world.late.items():
            if at == tick:
                self._put(i, "late.csv", self.world.body(i, late=True))
        for i, at in self.world.deleted.items():
            if at == tick:
                prefix = layout.emr_input_prefix(w.slot_start(i))
                for obj in self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", []):
                    self.s3.delete_object(Bucket=self.bucket, Key=obj["Key"])

    # ------------------------------------------------------------------ the ticks
    def tick(self, k: int, faults: bool = True) -> None:
        """Land slot ``k``'s data (and the day's late files and deletions), then run the tick's executions."""
        self.land(k)
        t = w.tick_time(k)
        self.h.freeze_clock(t + timedelta(seconds=30))
        self.h.freeze_clock(t + timedelta(minutes=13), function="RecordSlotsFunction")
        if t.hour == 6 and t.minute == 0:
            self._transform_tick(k, t, faults)

        def draw(kind: str) -> bool:
            return faults and self.draws(kind, k)

        self._lambda_faults(draw)
        if draw("ddb_throttled"):
            self.faults.throttled_calls = 2  # fewer than the SDK's 3 attempts: absorbed
        if draw("sns_refused"):
            self.faults.refused_publishes = 6  # more than the SDK's retries: the notice stays owed
        self.clusters.fail_next = draw("cluster_start_failed")
        timed_out = draw("step_timed_out")
        self.step.simulated.time_out_at = {slot_id(w.slot_start(k))} if timed_out else set()
        name = f"tick-{k}"
        run_input = {"scheduled_time": f"{t:%Y-%m-%dT%H:%M:%SZ}", "trigger": "schedule"}
        racer = f"{name}-duplicate"
        if draw("claim_race"):
            self.race.armed_for = (self._arn(EMR, racer), t, t + timedelta(seconds=30))
        stop, overlap = draw("stopped_mid_step"), draw("overlap")
        self.step.hold_next = stop or overlap
        arn = self.h.start_execution(EMR, run_input, name=name)
        if self.step.hold_next and not self._wait_held(arn):
            self.step.hold_next = False
        elif stop:
            self.h.stop_execution(arn)
            self.step.release.set()
        elif overlap:  # the next tick runs while this one's step is still converting
            if k + 1 < self.world.ticks:
                self.tick(k + 1, faults=False)
                self.ran_ahead = k + 1
            self.step.release.set()
        self._finish(self.h.wait(arn), t)
        if self.race.armed_for is not None or self.race.raced:
            self.race.armed_for = None
            self.race.raced.clear()
            self._finish(self.h.run(EMR, run_input, name=racer), t)
        self.step.held.clear()

    def _lambda_faults(self, draw: Callable[[str], bool]) -> None:
        if draw("prepare_answer_lost"):
            self.h.inject(LambdaFault("PrepareRunFunction", "Lambda.ServiceException"))
        if draw("prepare_timed_out_once"):
            self.h.inject(LambdaFault("PrepareRunFunction", "Sandbox.Timedout"))
        if draw("prepare_dead"):
            self.h.inject(LambdaFault("PrepareRunFunction", "Sandbox.Timedout", times=4))
        if draw("record_answer_lost"):
            self.h.inject(LambdaFault("RecordSlotsFunction", "Lambda.ServiceException"))

    def _transform_tick(self, k: int, t: datetime, faults: bool) -> None:
        day = GRIDS["transform"].start_of(t - timedelta(days=1))
        key = layout.transform_input_prefix(day) + "batch.csv"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body="\n".join(BATCH_ROWS).encode() + b"\n")
        failing = faults and self.draws("transform_job_failed", k)
        self.transform.fail_slots = {slot_id(day)} if failing else set()
        self.h.freeze_clock(t + timedelta(minutes=20), function="RecordSlotsFunction")
        self._finish(self.h.run(TRANSFORM, {"scheduled_time": f"{t:%Y-%m-%dT%H:%M:%SZ}"}, name=f"transform-{k}"), t)
        self.transform.fail_slots = set()
        self.h.freeze_clock(t + timedelta(minutes=13), function="RecordSlotsFunction")

    def _wait_held(self, arn: str) -> bool:
        """Until the step holds (True), or the execution ended without reaching it (False)."""
        while not self.step.held.wait(0.02):
            if self.h.describe(arn)["status"] != "RUNNING":
                return False
        return True

    def _arn(self, machine: str, name: str) -> str:
        return self.h.state_machine_arn(machine).replace(":stateMachine:", ":execution:") + f":{name}"

    def _finish(self, result: ExecutionResult, t: datetime) -> None:
        self.played.results.append(result)
        if result.status in ("FAILED", "ABORTED", "TIMED_OUT"):
            held = self.ledger.held_by(result.arn)
            if held:
                self.played.dead[result.arn] = {s: r.updated_at for s, r in held.items()}
            ended = t + (
                timedelta(minutes=5) if result.states_entered[-1:] == ["PrepareRun"] else timedelta(minutes=14)
            )
            self.h.freeze_clock(ended, function="NotifyFailureFunction")
            self._deliver(result.arn)
        self.measure_holds()

    def _deliver(self, arn: str) -> None:
        """EventBridge to NotifyFailure: retried on errors, sometimes delivered twice (same event id)."""
        if self.draws("notifier_failed_once", -1):
            self.h.inject(LambdaFault("NotifyFailureFunction", "Lambda.ServiceException", after_handler=False))
        deliveries = 2 if self.draws("delivered_twice", -1) else 1
        event_id = f"event-{arn.rsplit(':', 1)[-1]}"
        for _ in range(deliveries):
            for _attempt in range(6):  # EventBridge retries its target (up to an hour), Lambda retries twice more
                self.played.deliveries += 1
                try:
                    self.h.deliver_status_change(arn, event_id=event_id)
                    break
                except Exception:  # FunctionError, or Lambda's own service error: EventBridge retries
                    self.played.notifier_errors += 1

    def measure_holds(self) -> None:
        for arn, claimed in self.played.dead.items():
            pending = [s for s in claimed if (arn, s) not in self.played.holds]
            for sid, record in self.ledger.get_many("emr", pending).items() if pending else []:
                if record.holder != arn:
                    self.played.holds[(arn, sid)] = record.updated_at - claimed[sid]

    def drain(self, first: int) -> None:
        """Ticks without new data or faults until the ledger has no work left (or MAX_DRAIN_TICKS), then
        one more transform run if a daily slot is still open (a failed job is retried by the next day's)."""
        for extra in range(MAX_DRAIN_TICKS):
            if extra and not _has_work(self.ledger.open("emr")):
                break
            self.tick(first + extra, faults=False)
            self.played.drain_ticks += 1
        if _has_work(self.ledger.open("transform")):
            last = w.tick_time(first + self.played.drain_ticks)
            next_run = GRIDS["transform"].end_of(last) + timedelta(hours=6)
            self.h.freeze_clock(next_run + timedelta(seconds=30))
            self._transform_tick(first + self.played.drain_ticks, next_run, faults=False)


def _has_work(records: dict[str, Any]) -> bool:
    return any(r.state in ("pending", "failed", "running") for r in records.values())


def _ids(indexes: frozenset[int]) -> set[str]:
    return {slot_id(w.slot_start(i)) for i in indexes}


def play(
    world: w.World, draws: Draws, work_dir: Path, real_spark: int, echo: Callable[[str], None]
) -> tuple[Soak, Any]:
    """Play every tick of ``world`` (then the drain) on a fresh twin; the harness stays open for the tally."""
    harness = OfflineHarness(parameters={"ScheduleState": "DISABLED"}, execution_timeout=1800.0)
    harness.start()
    soak = Soak(harness, world, draws, work_dir, real_spark, echo)
    for k in range(world.ticks):
        if k != soak.ran_ahead:
            soak.tick(k)
        if k % 24 == 23:
            runs, faults = len(soak.played.results), sum(draws.fired.values())
            echo(f"  {slot_id(w.tick_time(k))}: {runs} executions, {faults} faults")
    soak.drain(world.ticks)
    return soak, harness
