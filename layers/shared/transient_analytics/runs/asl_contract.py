"""What the Python side relies on in the two ``.asl.json`` files: state names and result paths, once.

The notifier, the history reader, the demos and the picture name states and read the run's
state document by these names; ``tests/unit/test_asl_contract.py`` checks each of them against
both definitions, so renaming a state or a ``ResultPath`` in an ASL file fails a test instead of
silently changing a message.
"""

from __future__ import annotations

from typing import Final

#: Both state machines.
PREPARE_RUN: Final = "PrepareRun"
HAS_WORK: Final = "HasWork"
NO_NEW_DATA: Final = "NoNewData"
RECORD_SLOTS: Final = "RecordSlots"
SUCCEEDED: Final = "Succeeded"
LEDGER_UPDATE_FAILED: Final = "LedgerUpdateFailed"
#: The EMR pipeline.
CREATE_CLUSTER: Final = "CreateCluster"
RUN_SPARK_STEP: Final = "RunSparkStep"
TERMINATE_CLUSTER: Final = "TerminateCluster"
TERMINATE_AFTER_STEP_FAILURE: Final = "TerminateClusterAfterStepFailure"
CHOOSE_BACKEND: Final = "ChooseBackend"
RUN_SERVERLESS_JOB: Final = "RunServerlessJob"
#: The batch transform (inside its Map state).
SCORE_SLOTS: Final = "ScoreSlots"
RUN_TRANSFORM_JOB: Final = "RunTransformJob"

#: Where the states put things in the run's state document (``ResultPath`` / ``ResultSelector``).
PLAN_KEY: Final = "plan"  # PrepareRun's ResultSelector: {"plan.$": "$.Payload"}
CLUSTER_KEY: Final = "cluster"  # CreateCluster's ResultPath: $.cluster
CLUSTER_ID_KEY: Final = "cluster_id"  # CreateCluster's ResultSelector: {"cluster_id.$": "$.ClusterId"}
RECORD_KEY: Final = "record"  # RecordSlots' ResultPath: $.record
WORK_KEY: Final = "work"  # HasWork's Choice: $.plan.work

EMR_STATES: Final = (
    PREPARE_RUN, HAS_WORK, NO_NEW_DATA, CHOOSE_BACKEND, CREATE_CLUSTER, RUN_SPARK_STEP, TERMINATE_CLUSTER,
    TERMINATE_AFTER_STEP_FAILURE, RUN_SERVERLESS_JOB, RECORD_SLOTS, LEDGER_UPDATE_FAILED, SUCCEEDED,
)  # fmt: skip
TRANSFORM_STATES: Final = (
    PREPARE_RUN, HAS_WORK, NO_NEW_DATA, SCORE_SLOTS, RUN_TRANSFORM_JOB, RECORD_SLOTS, LEDGER_UPDATE_FAILED, SUCCEEDED,
)  # fmt: skip


#: The state whose entry means a run's work started (a cluster's step, the transform jobs): a run that
#: dies before it charges no slot an attempt.
WORK_STATES: Final = {"emr": (RUN_SPARK_STEP, RUN_SERVERLESS_JOB), "transform": (SCORE_SLOTS,)}


def work_started(pipeline: str, states_entered: list[str]) -> bool:
    return any(state in states_entered for state in WORK_STATES.get(pipeline, ()))


def recorded(states_entered: list[str], failed_state: str | None) -> bool:
    """Whether the run's RecordSlots ran and succeeded (it recorded every claimed slot)."""
    return RECORD_SLOTS in states_entered and failed_state != RECORD_SLOTS
