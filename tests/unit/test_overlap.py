from datetime import UTC, datetime, timedelta

from transient_analytics.overlap import RunningExecution, blocking_execution

T0 = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


def run(name: str, minutes: int) -> RunningExecution:
    return RunningExecution(
        arn=f"arn:aws:states:us-east-1:123456789012:execution:sm:{name}", start_date=T0 + timedelta(minutes=minutes)
    )


def test_a_lone_execution_goes_ahead():
    me = run("me", 15)
    assert blocking_execution(me.arn, [me]) is None


def test_an_execution_gives_way_to_one_that_started_earlier_and_still_runs():
    me, earlier = run("me", 15), run("earlier", 0)
    assert blocking_execution(me.arn, [me, earlier]) == earlier


def test_an_execution_ignores_one_that_started_after_it():
    me, later = run("me", 15), run("later", 30)
    assert blocking_execution(me.arn, [me, later]) is None


def test_of_two_executions_started_in_the_same_instant_exactly_one_goes_ahead():
    a, b = run("a", 15), run("b", 15)
    decisions = [blocking_execution(a.arn, [a, b]), blocking_execution(b.arn, [a, b])]
    assert decisions.count(None) == 1


def test_when_the_listing_lags_and_misses_me_any_other_running_execution_blocks():
    me, other = run("me", 15), run("other", 30)
    assert blocking_execution(me.arn, [other]) == other


def test_when_the_earlier_run_has_finished_the_new_one_goes_ahead():
    me = run("me", 15)
    assert blocking_execution(me.arn, [me]) is None
