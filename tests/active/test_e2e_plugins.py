"""End to end: ``automl-al learn`` on the demo with a data source, an oracle and an acquisition
function that live outside the package. The source comes from an installed distribution's
``automl_al.plugins`` entry point, the oracle and the acquisition from a module named in the
config's ``plugins`` key; nothing in automl_al knows their names.
"""

from __future__ import annotations

import csv
import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from e2e_config import write_demo_config
from run_helpers import run_cli

from automl_al.active.state import StateFile
from automl_al.registry import PLUGIN_GROUP

pytestmark = pytest.mark.slow

INITIAL, QUERY, PHASES = 8, 4, 2
OFFSET = 1000.0  # the plug-in acquisition's scores are OFFSET + something in [0, 1]: no built-in gives them

SOURCE_PLUGIN = '''
    """The demo's images under ids of this plug-in's own: a data source from outside automl_al."""
    import dataclasses

    from automl_al.data.sources import SOURCES
    from automl_al.data.sources.demo import demo_source


    def plug_demo(cfg, problems):
        for record in demo_source(cfg, problems):
            yield dataclasses.replace(record, id="plug-" + record.id)


    plug_demo.needs_path = False  # it makes its images, as the demo does
    SOURCES.register("plug_demo", plug_demo)
'''

AL_PLUGIN = f'''
    """An oracle that logs every request, and an acquisition scoring the mean foreground probability."""
    import json
    from pathlib import Path

    from automl_al.active.acquisition import Acquisition, register_acquisition
    from automl_al.active.oracles import SimulatedOracle, register_oracle


    class ForegroundArea(Acquisition):
        name = "plug_fg_area"
        needs_mc = False

        def score(self, probs, reduction):
            return {OFFSET} + probs.mean(dim=0)[:, 1:].sum(dim=1).flatten(1).mean(dim=1)


    class LoggingOracle(SimulatedOracle):
        name = "plug_logging"

        def __init__(self, prepared, log):
            super().__init__(prepared)
            self.log = log

        def request(self, phase, ids, scores):
            with self.log.open("a") as f:
                f.write(json.dumps({{"phase": phase, "ids": list(ids)}}) + "\\n")
            return super().request(phase, ids, scores)


    register_acquisition(ForegroundArea.name, ForegroundArea)
    register_oracle(LoggingOracle.name, lambda prepared, cfg: LoggingOracle(prepared, Path(cfg.run_dir) / "oracle.jsonl"))
'''


def _plugins(folder: Path) -> None:
    folder.mkdir()
    (folder / "plug_source.py").write_text(textwrap.dedent(SOURCE_PLUGIN))
    (folder / "plug_al.py").write_text(textwrap.dedent(AL_PLUGIN))
    info = folder / "plug_source-0.1.dist-info"  # what pip writes for a package declaring the entry point
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plug-source\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{PLUGIN_GROUP}]\nplug_source = plug_source\n")


def test_learn_runs_with_a_source_an_oracle_and_an_acquisition_from_plugins(tmp_path: Path) -> None:
    _plugins(tmp_path / "plugins")
    active = {"acquisition": "plug_fg_area", "oracle": "plug_logging", "initial": INITIAL, "query_size": QUERY,
              "max_phases": PHASES, "mc_samples": 2}
    config = write_demo_config(tmp_path, "plugins", train={"epochs": 1, "batch_size": 8}, active=active, tracking=False)
    raw = yaml.safe_load(config.read_text())
    raw["plugins"] = ["plug_al"]
    raw["data"]["source"] = "plug_demo"
    config.write_text(yaml.safe_dump(raw))

    pythonpath = os.pathsep.join(p for p in (str(tmp_path / "plugins"), os.environ.get("PYTHONPATH")) if p)
    proc = run_cli(tmp_path, "learn", str(config), "--no-progress", env={"PYTHONPATH": pythonpath})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"stopped: max_phases after {PHASES} phase(s)" in proc.stdout

    run = tmp_path / "run"
    state = StateFile(run / "state" / "state.json").load()
    labeled = set(state.labeled)
    assert len(labeled) == INITIAL + QUERY * (PHASES - 1)
    assert all(i.startswith("plug-demo-") for i in labeled)  # the plug-in source gave the images
    requests = [json.loads(line) for line in (run / "oracle.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in requests] == list(range(PHASES))
    assert {i for r in requests for i in r["ids"]} == labeled  # the plug-in oracle gave every label
    with (run / state.phases[1].scores_file).open() as f:
        scores = [float(row["score"]) for row in csv.DictReader(f)]
    assert scores and all(OFFSET <= s <= OFFSET + 1 for s in scores)  # the plug-in acquisition scored the pool
    assert state.phases[1].mc_checkpoint is None  # it needs no MC samples, so no twin was trained
    assert yaml.safe_load((run / "active" / "config.yaml").read_text())["plugins"] == ["plug_al"]
