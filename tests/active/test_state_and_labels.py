"""The state file's write order and checks, the label overlay, stopping arithmetic, initial picks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from automl_al.active.initial import kmeans_pp_initial, random_initial
from automl_al.active.labels import LabelStore, OverlayDataset, safe_name
from automl_al.active.state import ActiveState, StateError, StateFile
from automl_al.active.stopping import budget_count, query_count
from automl_al.config import ActiveConfig


def test_state_round_trips_through_json_and_refuses_foreign_files(tmp_path):
    state = ActiveState.new(pool_size=10)
    phase = state.begin_phase(0)
    phase.queried = ["a", "b"]
    phase.mark("queried")
    state.add_labels(0, ["a", "b"], [None, 0.5])
    phase.mark("labeled")
    state.begin_phase(1).metrics = {"val_iou": 0.25}
    file = StateFile(tmp_path / "state.json")
    file.save(state)
    loaded = file.load()
    assert loaded == state
    assert loaded.labeled["b"].score == 0.5 and loaded.phases[1].labeled_count == 2
    (tmp_path / "other.json").write_text(json.dumps({"pool_size": 3}))
    with pytest.raises(StateError, match="other.json: not an automl-al active-learning state"):
        StateFile(tmp_path / "other.json").load()


def test_steps_move_forward_only_and_phases_follow_complete_ones():
    state = ActiveState.new(pool_size=10)
    phase = state.begin_phase(0)
    with pytest.raises(StateError, match="phase 0 is not complete"):
        state.begin_phase(1)
    phase.mark("scored")
    assert phase.done("trained-mc") and not phase.done("queried")
    with pytest.raises(StateError, match="already recorded"):
        phase.mark("trained-det")
    with pytest.raises(ValueError, match="unknown step 'trained'"):
        phase.done("trained")


def test_an_id_is_never_labeled_twice():
    state = ActiveState.new(pool_size=10)
    state.add_labels(0, ["a"], [None])
    with pytest.raises(StateError, match=r"already labeled.*\['a'\]"):
        state.add_labels(1, ["b", "a"], [0.1, 0.2])


def test_safe_names_are_file_safe_and_distinct():
    names = {safe_name(i) for i in ("case/1#slice=3", "case_1_slice_3", "case/1#slice=4")}
    assert len(names) == 3
    assert all("/" not in n and "#" not in n for n in names)


def test_label_store_overlays_targets_onto_unlabeled_images(tmp_path):
    store = LabelStore(tmp_path)
    store.put({"x/1": np.ones((2, 2), np.uint8), "y": np.zeros((2, 2))})
    assert "x/1" in store and "z" not in store and store.missing(["y", "z"]) == ["z"]
    assert store.get("x/1").dtype == np.int64
    images = [(torch.full((1, 2, 2), float(k)), k) for k in range(2)]
    ds = OverlayDataset(images, ["x/1", "y"], store)
    image, target = ds[0]
    assert image.sum() == 0 and target.tolist() == [[1, 1], [1, 1]]
    with pytest.raises(KeyError, match="no stored label"):
        OverlayDataset(images, ["x/1", "z"], store)


def test_budget_and_query_size_arithmetic():
    assert budget_count(None, 100) is None
    assert budget_count(0.35, 100) == 35 and budget_count(0.29, 100) == 29  # no float round-down
    assert budget_count(40, 100) == 40
    assert query_count(ActiveConfig(query_size=5), labeled=10, unlabeled=3, pool_size=13) == 3
    assert query_count(ActiveConfig(query_size=5, budget=12), labeled=10, unlabeled=50, pool_size=60) == 2


def test_random_initial_repeats_per_seed():
    ids = [f"i{k}" for k in range(50)]
    a = random_initial(ids, 5, seed=3)
    assert a == random_initial(ids, 5, seed=3) and len(set(a)) == 5
    assert a != random_initial(ids, 5, seed=4)
    with pytest.raises(ValueError, match="cannot pick 60 initial images from 50"):
        random_initial(ids, 60, seed=0)


def test_kmeans_pp_initial_covers_separated_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [100, 0], [0, 100], [100, 100]], dtype=float)
    features = np.concatenate([c + rng.normal(size=(25, 2)) for c in centres])
    ids = [f"i{k}" for k in range(100)]
    picked = kmeans_pp_initial(features, ids, 4, seed=0)
    assert sorted(int(p[1:]) // 25 for p in picked) == [0, 1, 2, 3]
    assert picked == kmeans_pp_initial(features, ids, 4, seed=0)
