"""The loop as a state machine, with a fake learner and oracle: growth, stopping, resume, tracking."""

from __future__ import annotations

import json

import numpy as np

import pytest
from active_fakes import FakeLearner, FakeOracle, RecordingTracker, pool

from automl_al.active.initial import random_initial
from automl_al.active.loop import ActiveLoop, phase_seed
from automl_al.active.selection import select_k_center
from automl_al.active.state import StateError


def make_loop(cfg, n=20, learner=None, oracle=None, tracker=None):
    return ActiveLoop(
        cfg,
        pool(n),
        learner or FakeLearner(),
        oracle or FakeOracle(),
        initial_selector=random_initial,
        tracker=tracker,
    )


def test_labeled_count_grows_by_k_per_phase_until_max_phases(make_cfg):
    result = make_loop(make_cfg(initial=4, query_size=3, max_phases=4)).run()
    assert result.status == "finished"
    assert result.stop_reason == "max_phases"
    assert [r["labeled"] for r in result.rows] == [4, 7, 10, 13]
    assert [r["phase"] for r in result.rows] == [1, 2, 3, 4]
    assert result.rows[1]["labeled_fraction"] == pytest.approx(7 / 20)
    # the last phase trains and stops: nothing is queried after it
    assert [r["queried"] for r in result.rows] == [3, 3, 3, 0]
    assert len(result.state.labeled) == 13


def test_queries_the_top_k_by_score_and_never_the_same_image_twice(make_cfg):
    oracle = FakeOracle()
    # score = the number in the id: the highest unlabeled numbers are queried first
    result = make_loop(make_cfg(initial=2, query_size=3, max_phases=4), oracle=oracle).run()
    initial = oracle.requests[0][1]
    queried = [ids for phase, ids in oracle.requests[1:]]
    remaining = sorted((i for i in pool(20) if i not in initial), reverse=True)
    assert queried == [remaining[0:3], remaining[3:6], remaining[6:9]]
    flat = [i for _, ids in oracle.requests for i in ids]
    assert len(flat) == len(set(flat)) == 11
    assert {i: s.phase for i, s in result.state.labeled.items() if i in queried[0]} == dict.fromkeys(queried[0], 1)
    assert result.state.labeled[queried[0][0]].score == float(int(queried[0][0].split("-")[1]))


def test_stops_when_the_validation_iou_reaches_the_threshold(make_cfg):
    # val_iou = labeled / 100 -> 0.04, 0.07, 0.10: reaches 0.1 at phase 3
    result = make_loop(make_cfg(initial=4, query_size=3, iou_threshold=0.1, max_phases=9)).run()
    assert result.stop_reason == "iou_threshold"
    assert [r["labeled"] for r in result.rows] == [4, 7, 10]


def test_threshold_on_the_test_split_when_monitor_is_test(make_cfg):
    # test_iou = val_iou - 0.01: 0.1 is reached one phase later than on validation
    result = make_loop(make_cfg(initial=4, query_size=3, iou_threshold=0.1, monitor="test", max_phases=9)).run()
    assert result.stop_reason == "iou_threshold"
    assert [r["labeled"] for r in result.rows] == [4, 7, 10, 13]


@pytest.mark.parametrize(("budget", "expected"), [(9, [4, 7, 9]), (0.5, [4, 7, 10])])
def test_stops_when_the_budget_is_spent_and_caps_the_last_query(make_cfg, budget, expected):
    result = make_loop(make_cfg(initial=4, query_size=3, budget=budget, max_phases=9)).run()
    assert result.stop_reason == "budget"
    assert [r["labeled"] for r in result.rows] == expected


def test_stops_when_the_pool_is_empty(make_cfg):
    result = make_loop(make_cfg(initial=4, query_size=3, max_phases=9), n=10).run()
    assert result.stop_reason == "pool_empty"
    assert [r["labeled"] for r in result.rows] == [4, 7, 10]
    assert [r["queried"] for r in result.rows] == [3, 3, 0]


def test_given_labels_start_the_labeled_set_and_are_topped_up(make_cfg):
    oracle = FakeOracle(given=["img-005", "img-006"])
    make_loop(make_cfg(initial=4, max_phases=1), oracle=oracle).run()
    phase, initial = oracle.requests[0]
    assert phase == 0 and initial[:2] == ["img-005", "img-006"] and len(initial) == 4


def test_without_mc_the_deterministic_model_scores(make_cfg):
    learner = FakeLearner(needs_mc=False)
    make_loop(make_cfg(initial=4, query_size=3, max_phases=2), learner=learner).run()
    assert [c[1] for c in learner.calls if c[0] == "train"] == ["det", "det"]
    score_call = next(c for c in learner.calls if c[0] == "score")
    assert score_call[3] == "det phase 1" and score_call[4] is None


def test_mc_model_scores_when_the_acquisition_needs_it(make_cfg):
    learner = FakeLearner()
    make_loop(make_cfg(initial=4, query_size=3, max_phases=2), learner=learner).run()
    assert [c[1:3] for c in learner.calls if c[0] == "train"] == [("det", 1), ("mc", 1), ("det", 2)]
    score_call = next(c for c in learner.calls if c[0] == "score")
    assert score_call[4].read_text() == "mc phase 1"


def test_warm_start_initialises_from_the_previous_phase(make_cfg, tmp_path):
    learner = FakeLearner()
    make_loop(make_cfg(initial=4, query_size=3, max_phases=3, warm_start=True), learner=learner).run()
    inits = [(c[1], c[2], c[4]) for c in learner.calls if c[0] == "train"]
    assert inits[0] == ("det", 1, None) and inits[1] == ("mc", 1, None)
    assert inits[2][2].read_text() == "det phase 1"
    assert inits[3][2].read_text() == "mc phase 1"
    cold = FakeLearner()
    make_loop(make_cfg(initial=4, query_size=3, max_phases=3), learner=cold).run()
    assert all(c[4] is None for c in cold.calls if c[0] == "train")


def test_subsample_scores_only_e_unlabeled_images(make_cfg):
    learner = FakeLearner()
    make_loop(make_cfg(initial=4, query_size=3, max_phases=3, subsample=5), learner=learner).run()
    assert [c[2] for c in learner.calls if c[0] == "score"] == [5, 5]


@pytest.mark.parametrize("crash", ["train:det:2", "train:mc:2", "score:2"])
def test_resume_after_a_crash_repeats_only_the_unfinished_step(make_cfg, crash):
    cfg = make_cfg(initial=4, query_size=3, max_phases=3)
    oracle = FakeOracle()
    with pytest.raises(RuntimeError, match="simulated crash"):
        make_loop(cfg, learner=FakeLearner(fail_at=crash), oracle=oracle).run()
    before = json.loads((cfg.run_dir / "state" / "state.json").read_text())
    learner = FakeLearner()
    result = make_loop(cfg, learner=learner, oracle=oracle).run()
    assert result.stop_reason == "max_phases"
    assert [r["labeled"] for r in result.rows] == [4, 7, 10]
    # phase 1 was complete before the crash: it is not redone
    assert all(c[2] != 1 for c in learner.calls if c[0] == "train")
    assert set(before["labeled"]) <= set(result.state.labeled)
    flat = [i for _, ids in oracle.requests for i in ids]
    assert len(flat) == len(set(flat))


def test_a_resumed_query_asks_the_oracle_for_the_same_ids(make_cfg):
    class FlakyOracle(FakeOracle):
        def request(self, phase, ids, scores):
            if phase == 1 and not any(p == 1 for p, _ in self.requests):
                self.requests.append((phase, list(ids)))
                raise RuntimeError("oracle unavailable")
            return super().request(phase, ids, scores)

    cfg = make_cfg(initial=4, query_size=3, max_phases=2)
    oracle = FlakyOracle()
    with pytest.raises(RuntimeError, match="unavailable"):
        make_loop(cfg, oracle=oracle).run()
    learner = FakeLearner()
    make_loop(cfg, learner=learner, oracle=oracle).run()
    asked = [ids for phase, ids in oracle.requests if phase == 1]
    assert len(asked) == 2 and asked[0] == asked[1]
    assert not any(c[0] == "score" and c[1] == 1 for c in learner.calls)


def test_a_finished_run_resumes_to_the_same_result_without_work(make_cfg):
    cfg = make_cfg(initial=4, query_size=3, max_phases=2)
    first = make_loop(cfg).run()
    learner = FakeLearner()
    again = make_loop(cfg, learner=learner).run()
    assert learner.calls == []
    assert again.rows == first.rows and again.stop_reason == "max_phases"


def test_a_different_pool_is_refused(make_cfg):
    cfg = make_cfg(initial=4, max_phases=1)
    make_loop(cfg).run()
    with pytest.raises(StateError, match="pool of 20 images but the data now gives 25"):  # one line at the CLI
        make_loop(cfg, n=25)


def test_damaged_state_file_is_reported_by_path(make_cfg):
    cfg = make_cfg(initial=4, max_phases=1)
    path = cfg.run_dir / "state" / "state.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(StateError, match="state.json: not valid JSON"):
        make_loop(cfg)


def test_tracking_parent_run_is_reused_on_resume_with_a_child_per_phase(make_cfg):
    cfg = make_cfg(initial=4, query_size=3, max_phases=3)
    tracker = RecordingTracker()
    with pytest.raises(RuntimeError):
        make_loop(cfg, learner=FakeLearner(fail_at="score:2"), tracker=tracker).run()
    make_loop(cfg, tracker=tracker).run()
    parents = [r for r in tracker.runs if r["parent"] is None]
    assert len({r["id"] for r in parents}) == 1 and len(parents) == 2
    children = [r for r in tracker.runs if r["parent"] is not None]
    assert [c["name"] for c in children] == ["phase_01", "phase_02", "phase_02", "phase_03"]
    assert children[1]["id"] == children[2]["id"]  # phase 2's run is resumed, not duplicated
    first = {k: v for metrics, _ in children[0]["metrics"] for k, v in metrics.items()}
    assert first["labeled_count"] == 4 and first["labeled_fraction"] == pytest.approx(0.2)
    assert first["val_iou"] == pytest.approx(0.04) and "scoring_seconds_per_image" in first
    lines = children[0]["texts"]["queries.csv"].splitlines()
    assert lines[0] == "id,score" and len(lines) == 4
    assert parents[-1]["tags"]["stop_reason"] == "max_phases"


def test_every_given_label_starts_the_labeled_set_and_none_is_asked_for(make_cfg):
    """More labeled images than active.initial: a person is never asked for one (given_labels: all)."""
    oracle = FakeOracle(given=pool(20)[10:])
    make_loop(make_cfg(initial=4, query_size=3, max_phases=3), oracle=oracle).run()
    (phase, initial), *later = oracle.requests
    assert phase == 0 and initial == pool(20)[10:]
    assert len(later) == 2 and all(len(ids) == 3 and not set(ids) & set(initial) for _, ids in later)


def test_a_fully_labeled_pool_says_how_to_rehearse(make_cfg, caplog):
    caplog.set_level("INFO")
    oracle = FakeOracle(given=pool(20))
    result = make_loop(make_cfg(initial=4, max_phases=3), oracle=oracle).run()
    assert [len(ids) for _, ids in oracle.requests] == [20] and result.stop_reason == "pool_empty"
    assert "nothing is left to ask for; active.given_labels: initial rehearses" in caplog.text


def test_given_labels_initial_keeps_the_rest_hidden_for_a_rehearsal(make_cfg, caplog):
    caplog.set_level("INFO")
    oracle = FakeOracle(given=pool(20)[10:])
    make_loop(make_cfg(initial=4, max_phases=1, given_labels="initial"), oracle=oracle).run()
    phase, initial = oracle.requests[0]
    assert len(initial) == 4 and set(initial) <= set(pool(20)[10:])
    assert "10 pool images come labeled; active.given_labels is 'initial', so 4 of them" in caplog.text
    phase, initial = oracle.requests[0]
    assert len(initial) == 4 and set(initial) <= set(pool(20)[10:])


def _two_kinds(i: str) -> list[float]:
    """Ids from 10 up are one kind of image, the others another; the top scores are all of the first."""
    return [1.0, 0.0] if int(i.split("-")[1]) >= 10 else [0.0, 1.0]


@pytest.mark.parametrize("crash", [False, True], ids=["straight", "killed-after-scoring"])
def test_kcenter_diversity_queries_from_saved_features_and_resumes_with_them(make_cfg, crash, monkeypatch):
    cfg = make_cfg(initial=2, query_size=4, max_phases=2, diversity="kcenter")
    oracle = FakeOracle()
    # the score is the number in the id; the features say which kind of image it is
    learner = FakeLearner(features=_two_kinds)
    if crash:  # killed after scoring, before the query: the resumed run must use the saved features
        import automl_al.active.loop as loop_module

        def crash_once(point: str) -> None:
            if point == "scored:1":
                monkeypatch.setattr(loop_module, "crash_point", lambda point: None)
                raise RuntimeError("simulated crash after scoring")

        monkeypatch.setattr(loop_module, "crash_point", crash_once)
        with pytest.raises(RuntimeError, match="simulated crash"):
            make_loop(cfg, learner=learner, oracle=oracle).run()
        learner = FakeLearner()  # no features now: only the saved ones can give the same query
    make_loop(cfg, learner=learner, oracle=oracle).run()
    scored = [i for i in pool(20) if i not in oracle.requests[0][1]]
    saved = np.load(cfg.run_dir / "state" / "phase_01" / "features.npy")
    assert saved.tolist() == [_two_kinds(i) for i in scored]  # one row per scored id, in order
    scores = np.array([float(int(i.split("-")[1])) for i in scored])
    expected = select_k_center(scored, scores, saved, 4, seed=phase_seed(cfg.seed, 1, "ties"))
    assert oracle.requests[1] == (1, expected)
    assert {tuple(_two_kinds(i)) for i in expected} == {(1.0, 0.0), (0.0, 1.0)}  # top-4 would be one kind
