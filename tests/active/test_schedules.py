"""Query schedules on hand-built loss sequences: each condition fires exactly when SEEDS.md S2 says,
never one epoch early or late. Losses are binary fractions where means must be exact."""

from __future__ import annotations

import json

import pytest

from automl_al.active.schedules import (
    DynamicSchedule,
    FixedSchedule,
    ScheduleError,
    ScheduleState,
    schedule_from_dict,
)

DYNAMIC = DynamicSchedule()


def first_due(schedule: FixedSchedule | DynamicSchedule, losses: list[float], last_query: int = 0) -> int | None:
    """The first epoch (1-based) after which the schedule queries, deciding after every epoch."""
    for epoch in range(last_query + 1, len(losses) + 1):
        if schedule.due(losses[:epoch], last_query):
            return epoch
    return None


# ---- fixed -------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [15, 25, 30, 50])
def test_fixed_fires_every_q_epochs(q: int) -> None:
    losses = [1.0] * 200
    assert first_due(FixedSchedule(q), losses) == q  # not q - 1, not q + 1
    assert first_due(FixedSchedule(q), losses, last_query=q) == 2 * q
    assert FixedSchedule(q).due(losses[: q + 7], q + 7) is None  # just queried


def test_fixed_needs_a_positive_q() -> None:
    with pytest.raises(ScheduleError, match="Q >= 1"):
        FixedSchedule(0)


# ---- dynamic, condition 1: SMA of the last 5 epochs below 1e-4 ----------------------------------


def test_sma_exactly_at_the_threshold_does_not_fire_just_below_does() -> None:
    high = [1.0] * 3
    assert DYNAMIC.due([*high, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4], 0) is None  # mean exactly 1e-4: not below
    assert DYNAMIC.due([*high, 0.0, 0.0, 0.0, 0.0, 5e-4], 0) is None  # mean 5e-4 / 5 = 1e-4 exactly
    assert DYNAMIC.due([*high, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4 - 1e-12], 0) == "sma"  # just below


def test_sma_waits_for_five_epochs_of_history() -> None:
    assert first_due(DYNAMIC, [0.0] * 10) == 5  # SMA of 5 needs 5 epochs: not at 4


def test_sma_window_is_the_last_five_epochs_only() -> None:
    """Epoch 6 has loss 1.0, so any window holding it averages >= 0.2; the first window without it,
    epochs 7..11, fires after epoch 11: not 10 (window 6..10), not 12."""
    losses = [1.0] * 6 + [1e-5] * 10
    assert first_due(DYNAMIC, losses) == 11


def test_sma_window_crosses_the_last_query() -> None:
    """S2 says "since the last query" for condition 2 only: right after a query, the window still
    holds the epochs before it, so a loss that stays tiny queries again at once."""
    losses = [1e-5] * 8
    assert DYNAMIC.due(losses, last_query=7) == "sma"
    assert DYNAMIC.due([*losses[:7], 1e-2], last_query=7) is None  # the new image raised the loss


# ---- dynamic, condition 2: >= 20 epochs since the query and a plateau -----------------------------


def test_plateau_needs_20_epochs_since_the_last_query() -> None:
    flat = [1.0] * 60  # flat: recent mean 1.0 > half the preceding mean 0.5 as soon as it may fire
    assert first_due(DYNAMIC, flat) == 20  # 19 epochs: no; 20: yes
    assert DYNAMIC.due(flat[:19], 0) is None and DYNAMIC.due(flat[:20], 0) == "plateau"
    assert first_due(DYNAMIC, flat, last_query=7) == 27  # 20 epochs after the query at epoch 7
    assert DYNAMIC.due(flat[:26], 7) is None


def test_plateau_25_75_boundary_with_hand_computed_means() -> None:
    # 20 epochs since the query: preceding 15 = 2.75, 2.625, ..., 1.0 (step 1/8), mean (2.75 + 1.0) / 2
    # = 1.875, half = 0.9375. Recent 5 epochs: sum 4.6875 -> mean 0.9375 = half: NOT higher.
    preceding = [2.75 - 0.125 * i for i in range(15)]
    assert preceding[-1] == 1.0 and sum(preceding) / 15 == 1.875
    equal = [1.0, 0.9375, 0.875, 0.9375, 0.9375]
    assert DYNAMIC.due(preceding + equal, 0) is None
    # last recent loss 1.0 instead of 0.9375: sum 4.75 -> mean 0.95 > 0.9375: a plateau
    assert DYNAMIC.due([*preceding, 1.0, 0.9375, 0.875, 0.9375, 1.0], 0) == "plateau"
    # still falling fast: recent mean 0.5 < 0.9375
    assert DYNAMIC.due(preceding + [0.5] * 5, 0) is None


def test_plateau_recent_part_is_floor_of_a_quarter() -> None:
    """e = 23 epochs since the query: the recent part is floor(23 / 4) = 5 epochs. Losses 2.0 for 18
    epochs then 1.0 for 5: recent mean 1.0 = half of 2.0, not higher -> no query. Had the recent part
    been rounded up to 6, it would hold one 2.0 and mean (2 + 5) / 6 = 1.1667 > 1.0 -> a query."""
    assert DYNAMIC.due([2.0] * 18 + [1.0] * 5, 0) is None
    # e = 24: floor(24 / 4) = 6 recent epochs = the six 1.0: again exactly half, no query
    assert DYNAMIC.due([2.0] * 18 + [1.0] * 6, 0) is None
    # e = 21: 5 recent (floor 5.25), 16 preceding: [2.0]*16 + [1.0]*4 + [1.125]: recent mean
    # (4 + 1.125) / 5 = 1.025 > 1.0 -> a query
    assert DYNAMIC.due([2.0] * 16 + [1.0] * 4 + [1.125], 0) == "plateau"


def test_plateau_looks_only_at_epochs_since_the_last_query() -> None:
    """Loss 8.0 for the 10 epochs before the query at epoch 10, flat 1.0 since. Since the query: a
    plateau (1.0 > 0.5), due after epoch 30 (20 since), not 29. Over the whole history it would not
    be (recent 7 epochs mean 1.0 vs half of (10 x 8 + 13 x 1) / 23 = 2.02), so ``last_query`` is
    what scopes condition 2."""
    losses = [8.0] * 10 + [1.0] * 20
    assert DYNAMIC.due(losses[:29], 10) is None
    assert DYNAMIC.due(losses, 10) == "plateau"
    assert DYNAMIC.due(losses, 0) is None


def test_both_conditions_report_the_first_that_holds() -> None:
    tiny = [1e-5] * 25
    assert DYNAMIC.due(tiny, 0) == "sma"  # the SMA is checked first
    assert DYNAMIC.due([*([1e-5] * 24), 1.0], 0) == "plateau"  # SMA 0.2: only the plateau holds


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"recent_fraction": 0.0}, "recent_fraction"), ({"min_epochs": 1}, "min_epochs >= 2"),
     ({"recent_fraction": 0.01}, "less than one epoch"), ({"sma_epochs": 0}, "sma_epochs >= 1")],
)
def test_dynamic_parameters_are_checked(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ScheduleError, match=match):
        DynamicSchedule(**kwargs)  # type: ignore[arg-type]


def test_last_query_must_lie_in_the_history() -> None:
    with pytest.raises(ScheduleError, match="last_query must be in"):
        DYNAMIC.due([1.0] * 3, 4)


# ---- state and serialisation ---------------------------------------------------------------------


def test_state_round_trips_through_json_and_decides_the_same() -> None:
    schedule = DynamicSchedule()
    state = ScheduleState()
    for i in range(70):
        state.record_epoch(1.0 / (1 + i) + 0.1 * (i % 3))
        reason = state.due(schedule)
        if reason:
            state.record_query(reason)
    assert state.queries and len(state.queries) == len(state.reasons)
    back = ScheduleState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert back == state and back.last_query == state.last_query == state.queries[-1]
    resumed = schedule_from_dict(json.loads(json.dumps(schedule.to_dict())))
    assert resumed == schedule
    assert resumed.due(back.losses, back.last_query) == schedule.due(state.losses, state.last_query)
    assert schedule_from_dict({"name": "fixed", "every": 25}) == FixedSchedule(25)


def test_resume_midway_equals_an_uninterrupted_run() -> None:
    losses = [2.0 / (1 + (i % 23)) for i in range(120)]

    def run(states: list[ScheduleState], stop: int | None) -> ScheduleState:
        state = states[0]
        for loss in losses[state.epoch : stop]:
            state.record_epoch(loss)
            if (reason := state.due(DYNAMIC)) is not None:
                state.record_query(reason)
        return state

    whole = run([ScheduleState()], None)
    half = run([ScheduleState()], 57)
    resumed = run([ScheduleState.from_dict(json.loads(json.dumps(half.to_dict())))], None)
    assert resumed == whole and whole.queries


@pytest.mark.parametrize(
    "data",
    [
        {"losses": [1.0], "queries": [2], "reasons": ["sma"]},
        {"losses": [1.0, 1.0], "queries": [2, 1], "reasons": ["sma", "sma"]},
        {"losses": [1.0], "queries": [1], "reasons": []},
        {"losses": [1.0]},
    ],
)
def test_inconsistent_saved_state_is_refused(data: dict[str, list[object]]) -> None:
    with pytest.raises(ScheduleError):
        ScheduleState.from_dict(data)


def test_state_refuses_a_non_finite_loss_and_a_double_query() -> None:
    state = ScheduleState()
    with pytest.raises(ScheduleError, match="epoch 1 is nan"):
        state.record_epoch(float("nan"))
    state.record_epoch(1.0)
    state.record_query("fixed")
    with pytest.raises(ScheduleError, match="already recorded after epoch 1"):
        state.record_query("fixed")


def test_unknown_schedule_name() -> None:
    with pytest.raises(ScheduleError, match="unknown query schedule 'phases'.*fixed, dynamic"):
        schedule_from_dict({"name": "phases"})
    with pytest.raises(ScheduleError, match="bad parameters for the fixed schedule"):
        schedule_from_dict({"name": "fixed", "q": 3})
