import json

from tests.support import load_event
from transient_analytics.models import ExecutionStatusChangeEvent, parse_event
from transient_analytics.notify.failed_run import CleanupReport, render
from transient_analytics.notify.history import ExecutionFacts, facts_from_history
from transient_analytics.notify.message import SNS_SUBJECT_MAX, sns_subject, summarize_cause, trim_middle

PLAN = {
    "run_id": "20261125T2015Z-d3fafaec",
    "scheduled_time": "2026-11-25T20:15:00Z",
    "trigger": "schedule",
    "slots": load_event("record_slots/step_failed_emr")["plan"]["slots"],
    "emr": {
        "cluster_name": "transient-analytics-dev-emr-20261125T2015Z-d3fafaec",
        "log_uri": "s3://b/logs/emr/dt=2026-11-25/hour=20/minute=15/",
        "partition_column": "class",
    },
}


def entered(event_id, name, kind="Task"):
    return {"id": event_id, "type": f"{kind}StateEntered", "stateEnteredEventDetails": {"name": name, "input": "{}"}}


def exited(event_id, name, output):
    return {
        "id": event_id,
        "type": "TaskStateExited",
        "stateExitedEventDetails": {"name": name, "output": json.dumps(output)},
    }


STEP_FAILED_HISTORY = [
    {"id": 1, "type": "ExecutionStarted"},
    entered(2, "PrepareRun"),
    exited(3, "PrepareRun", {"plan": PLAN}),
    entered(4, "HasWork", "Choice"),
    entered(5, "CreateCluster"),
    {"id": 6, "type": "TaskSubmitted", "taskSubmittedEventDetails": {"output": json.dumps({"ClusterId": "j-1ABC"})}},
    exited(7, "CreateCluster", {"plan": PLAN, "cluster": {"cluster_id": "j-1ABC"}}),
    entered(8, "RunSparkStep"),
    {"id": 9, "type": "TaskFailed", "taskFailedEventDetails": {"error": "States.TaskFailed", "cause": "step failed"}},
    entered(10, "TerminateClusterAfterStepFailure"),
    entered(11, "StepFailed", "Pass"),
    entered(12, "RecordSlots"),
    entered(13, "RouteOutcome", "Choice"),
    entered(14, "SparkStepFailed", "Fail"),
    {
        "id": 15,
        "type": "ExecutionFailed",
        "executionFailedEventDetails": {"error": "States.TaskFailed", "cause": "step failed"},
    },
]


def test_the_failed_state_is_where_the_run_first_went_wrong_not_the_final_fail_state():
    facts = facts_from_history(STEP_FAILED_HISTORY)
    assert facts.failed_state == "RunSparkStep"
    assert (facts.first_error, facts.first_cause) == ("States.TaskFailed", "step failed")


def test_history_yields_the_run_plan_and_the_cluster_id():
    facts = facts_from_history(STEP_FAILED_HISTORY)
    assert facts.plan == PLAN
    assert facts.cluster_id == "j-1ABC"
    assert facts.states_entered[-1] == "SparkStepFailed"


def test_an_aborted_run_is_reported_at_the_state_it_was_in():
    facts = facts_from_history(STEP_FAILED_HISTORY[:8] + [{"id": 9, "type": "ExecutionAborted"}])
    assert facts.failed_state == "RunSparkStep"
    assert facts.first_error is None


def test_subject_is_valid_for_sns_printable_ascii_one_line_under_100_characters():
    subject = sns_subject("[ta] EMR pipeline FAILED at RunSparkStep: " + "é\n\t" * 10 + "x" * 200)
    assert len(subject) <= SNS_SUBJECT_MAX
    assert subject.isascii() and "\n" not in subject and subject.isprintable()


def test_long_causes_keep_their_head_and_tail_and_say_how_much_was_cut():
    text = "HEAD " + "m" * 10_000 + " TAIL"
    trimmed = trim_middle(text, 300)
    assert trimmed.startswith("HEAD") and trimmed.endswith("TAIL")
    assert "[9710 characters trimmed]" in trimmed
    assert len(trimmed) < 400


def test_lambda_emr_and_sagemaker_causes_are_reduced_to_their_message():
    lam = json.dumps(
        {"errorType": "InvalidEventError", "errorMessage": "input.trigger: bad", "stackTrace": ["..."] * 50}
    )
    assert summarize_cause(lam, 500) == "InvalidEventError: input.trigger: bad"
    emr = load_event("notify_failure/failed_emr_step")["detail"]["cause"]
    assert "partition column 'class' not found" in summarize_cause(emr, 500)
    assert "log: s3://" in summarize_cause(emr, 500)
    sm = load_event("notify_failure/failed_transform")["detail"]["cause"]
    assert summarize_cause(sm, 500).startswith("ClientError: See job logs")


def test_the_message_names_pipeline_execution_state_error_cause_times_parameters_and_links():
    change = parse_event(load_event("notify_failure/failed_emr_step"), ExecutionStatusChangeEvent)
    facts = facts_from_history(STEP_FAILED_HISTORY)
    note = render(change.detail, "emr", facts, CleanupReport(), "us-east-1")
    assert note.subject == (
        "[transient-analytics] EMR pipeline FAILED at RunSparkStep: 3f1c2b9a-6d0e-4b1f-9a57-2c1e8d4f7a10"
    )
    body = note.message
    for expected in (
        "Status:        FAILED",
        "Failed state:  RunSparkStep",
        "Error:         States.TaskFailed",
        "partition column 'class' not found",
        "Started:       2026-11-25 20:15:00 UTC",
        "Stopped:       2026-11-25 20:31:01 UTC (16 min 1 s)",
        "run id:           20261125T2015Z-d3fafaec",
        "log uri:          s3://b/logs/emr/dt=2026-11-25/hour=20/minute=15/",
        "slots:            2026-11-25T19:45Z, 2026-11-25T20:00Z",
        "cluster id:       j-1ABC",
        "no EMR cluster of this execution was still running",
        "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/",
        "Re-run now:    aws stepfunctions start-execution",
    ):
        assert expected in body, expected


def test_an_aborted_run_says_it_was_stopped_and_which_cluster_was_terminated():
    change = parse_event(load_event("notify_failure/aborted_emr"), ExecutionStatusChangeEvent)
    note = render(
        change.detail, "emr", ExecutionFacts(failed_state="RunSparkStep"), CleanupReport(("j-9XYZ",)), "us-east-1"
    )
    assert "ABORTED at RunSparkStep" in note.subject
    assert "was stopped (StopExecution)" in note.message
    assert "terminated EMR cluster(s) still running for this execution: j-9XYZ" in note.message


def test_a_timed_out_run_reports_the_timeout_error():
    change = parse_event(load_event("notify_failure/timed_out_emr"), ExecutionStatusChangeEvent)
    note = render(change.detail, "emr", ExecutionFacts(), None, "us-east-1")
    assert "Error:         States.Timeout" in note.message
    assert "Stopped:       2026-11-25 20:00:00 UTC (3 h 0 min 0 s)" in note.message
    assert "Cleanup:" not in note.message


def test_a_run_that_failed_before_planning_says_it_has_no_parameters():
    change = parse_event(load_event("notify_failure/failed_transform"), ExecutionStatusChangeEvent)
    note = render(change.detail, "transform", ExecutionFacts(), None, "us-east-1")
    assert "Run parameters: none" in note.message
    assert note.subject.startswith("[transient-analytics] Batch transform FAILED")


def test_after_a_failed_step_the_message_says_recovery_is_automatic_and_offers_a_rerun_of_its_slots():
    change = parse_event(load_event("notify_failure/failed_emr_step"), ExecutionStatusChangeEvent)
    note = render(change.detail, "emr", facts_from_history(STEP_FAILED_HISTORY), None, "us-east-1")
    assert "Recovery:      automatic: the slot ledger holds these slots as failed" in note.message
    assert "Redrive" not in note.message
    # the range covers both slots: from the first slot's start to the last slot's end
    assert (
        "Re-run now:    aws stepfunctions start-execution --state-machine-arn "
        "arn:aws:states:us-east-1:123456789012:stateMachine:transient-analytics-dev-emr-pipeline "
        """--input '{"backfill": {"from": "2026-11-25T19:45Z", "to": "2026-11-25T20:15Z"}, "trigger": "backfill"}'"""
    ) in note.message


def test_a_run_stopped_before_planning_offers_neither_a_recovery_nor_a_rerun():
    change = parse_event(load_event("notify_failure/aborted_emr"), ExecutionStatusChangeEvent)
    note = render(change.detail, "emr", ExecutionFacts(), None, "us-east-1")
    assert "Run parameters: none" in note.message
    assert "Recovery:" not in note.message and "Re-run now:" not in note.message
    assert "Redrive" not in note.message
