"""`make demo-train` end to end: three real training runs, each decision the gate's rule on the scores it printed."""

from __future__ import annotations

import pytest

from demo.train import TrainingDemo
from demo.train_report import TrainingDemoReport
from transient_analytics.training.gate import beats

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> TrainingDemoReport:
    return TrainingDemo(tmp_path_factory.mktemp("demo-train"), echo=lambda line: None).run()


def test_every_run_trains_and_registers_a_model_package(report: TrainingDemoReport):
    assert [r.result.status for r in report.runs] == ["SUCCEEDED"] * 3
    assert [v for v, _ in report.packages] == [1, 2, 3]
    assert [r.registration["candidate"]["version"] for r in report.runs] == [1, 2, 3]


def test_the_first_model_becomes_production_because_there_is_none(report: TrainingDemoReport):
    first = report.runs[0]
    assert first.registration["incumbent"] is None and first.promoted
    assert first.registration["candidate"]["algorithm"] in ("ridge", "random_forest", "hist_gradient_boosting")


def test_each_later_decision_is_the_gate_applied_to_the_two_scores_the_report_shows(report: TrainingDemoReport):
    production_rmse = report.runs[0].registration["candidate"]["rmse"]
    for run in report.runs[1:]:
        candidate, incumbent = run.registration["candidate"], run.registration["incumbent"]
        # the job scored production on the candidate's own hold-out: production's own score, since the data is the same
        assert incumbent["rmse"] == pytest.approx(production_rmse, abs=1e-12)
        assert run.promoted == beats(candidate["rmse"], incumbent["rmse"], report.threshold)
        if run.promoted:
            production_rmse = candidate["rmse"]
        assert f"{candidate['rmse']:.4f}" in report.text and f"{incumbent['rmse']:.4f}" in report.text


def test_production_is_the_last_promoted_model_and_each_unpromoted_one_got_one_message(report: TrainingDemoReport):
    promoted = [r for r in report.runs if r.promoted]
    last = promoted[-1].registration["candidate"]
    assert report.production is not None and report.production[:2] == (last["version"], last["model_name"])
    waiting = [r for r in report.runs if not r.promoted]
    assert len(report.messages) == len(waiting)
    statuses = dict(report.packages)
    for run in waiting:
        assert statuses[run.registration["candidate"]["version"]] == "PendingManualApproval"
    for (subject, body), run in zip(report.messages, waiting, strict=True):
        assert run.registration["candidate"]["model_package_arn"] in body and "start-execution" in body
        assert subject.startswith(f"[transient-analytics] Model v{run.registration['candidate']['version']} awaits")


def test_the_report_is_written_beside_the_function_logs(report: TrainingDemoReport):
    # (the log lines go there when this process imports the handlers first, as `make demo-train` does)
    assert report.function_logs is not None and report.function_logs.is_file()
    assert (report.function_logs.parent / "report.md").read_text() == report.text


def test_the_day_is_scored_by_the_production_model(report: TrainingDemoReport):
    assert report.scored is not None and report.scored.status == "SUCCEEDED"
    [job] = report.scored.tasks("RunTransformJob")
    assert report.production is not None and job.parameters["ModelName"] == report.production[1]
    assert any("4,177 rows" in line for line in report.scored_lines)
