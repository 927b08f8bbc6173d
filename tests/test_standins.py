"""benchmarks/standins.py (stand-in data for coverage.py --config): the kinds a collection's
originals need to run here, built through ``coverage.py --check-config`` as the lead runs it, and
the one-line errors of a bad spec."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"

GENERATOR = """\
import numpy as np
import torch
np.random.seed(2)
torch.save(np.sin(np.arange(12.0)).reshape(3, 4), open("traindata.pt", "wb"))
"""

TRAIN = """\
import os
import torch
data = torch.load("traindata.pt", weights_only=False)
images, labels, floats = torch.load("../../data/mm/train.pt")
assert os.path.isdir("results")
for step in range(2):
    loss = torch.tensor(float(step), requires_grad=True)
    loss.backward()
"""

CONFIG = """\
[collection]
repository = "example/tiny"
commit = "unknown"

[[files]]
match = "seq/train.py"
workdir = "folder"
stand_ins = ["sine", "results", "mm"]

[stand_ins.sine]
kind = "script"
source = "seq/generate.py"
path = "traindata.pt"

[stand_ins.results]
kind = "folder"
path = "results"

[stand_ins.mm]
kind = "tensors"
path = "../../data/mm/train.pt"
tensors = [
    { shape = [6, 4, 4, 3], dtype = "uint8", low = 0, high = 255 },
    { shape = [6], dtype = "int64", low = 0, high = 9 },
    { shape = [2, 3], dtype = "float64", low = -1.0, high = 1.0 },
]
"""


def _standins():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("standins", BENCH / "standins.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def _collection(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "tiny"
    (root / "seq").mkdir(parents=True)
    (root / "seq" / "generate.py").write_text(GENERATOR)
    (root / "seq" / "train.py").write_text(TRAIN)
    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG)
    return root, config


def test_check_config_builds_a_generated_file_an_empty_folder_and_saved_tensors(tmp_path):
    root, config = _collection(tmp_path)
    run = subprocess.run(
        [sys.executable, str(BENCH / "coverage.py"), str(root), "--config", str(config)]
        + ["--check-config"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "seq/train.py: " in run.stdout and "-> run folder ready" in run.stdout
    assert "0 problem(s)" in run.stderr


def test_built_stand_ins_are_what_the_script_reads_and_the_same_every_time(tmp_path):
    standins = _standins()
    root, _ = _collection(tmp_path)
    import tomllib

    specs = tomllib.loads(CONFIG)["stand_ins"]
    built = []
    for n in range(2):
        base = tmp_path / f"run{n}"
        cwd = base / "d" / "e" / "seq"
        shutil.copytree(root / "seq", cwd)  # as coverage.py's workdir = "folder" does
        for spec in specs.values():
            standins.build(spec, cwd, base, root, root / "seq")
        images, labels, floats = torch.load(base / "d" / "data" / "mm" / "train.pt")
        built.append((images, labels, floats, (cwd / "traindata.pt").read_bytes()))
        assert (cwd / "results").is_dir() and not any((cwd / "results").iterdir())
        # the script itself runs there
        subprocess.run([sys.executable, str(cwd / "train.py")], cwd=cwd, check=True, timeout=120)
    images, labels, floats, sine = built[0]
    assert images.shape == (6, 4, 4, 3) and images.dtype == torch.uint8
    assert labels.shape == (6,) and labels.dtype == torch.int64
    assert 0 <= int(labels.min()) and int(labels.max()) <= 9
    assert floats.dtype == torch.float64 and -1 <= float(floats.min()) < float(floats.max()) < 1
    assert images.unique().numel() > 10  # random, not constant
    for a, b in zip(built[0][:3], built[1][:3]):
        assert torch.equal(a, b)
    assert sine == built[1][3]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "script", "path": "x.pt"}, "a script needs `source`"),
        ({"kind": "script", "path": "x.pt", "source": "g.py", "args": "-n"}, "`args` must be"),
        ({"kind": "tensors", "path": "x.pt"}, "`tensors` needs a list of tables"),
        ({"kind": "tensors", "path": "x.pt", "tensors": [{"dtype": "uint8"}]}, "with `shape`"),
        ({"kind": "folder"}, "needs `path`"),
    ],
)
def test_a_malformed_spec_is_one_line_naming_the_stand_in(spec, message):
    standins = _standins()
    with pytest.raises(standins.StandInError, match="stand-in 'bad'") as err:
        standins.check("bad", spec)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_generator_that_fails_or_writes_nothing_is_a_stand_in_error(tmp_path):
    standins = _standins()
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "fails.py").write_text("raise SystemExit('no disk space')\n")
    (tmp_path / "repo" / "idle.py").write_text("print('nothing written')\n")
    run = tmp_path / "run"
    run.mkdir()
    for source, message in [
        ("fails.py", "script fails.py: no disk space"),
        ("idle.py", "script idle.py did not write traindata.pt"),
        ("absent.py", "does not exist"),
    ]:
        spec = {"kind": "script", "source": source, "path": "traindata.pt"}
        with pytest.raises(standins.StandInError, match=message):
            standins.build(spec, run, run, tmp_path / "repo", run)


def test_a_csv_can_start_with_a_preamble_and_name_image_files_in_its_index_column(tmp_path):
    standins = _standins()
    spec = {
        "kind": "csv",
        "path": "list_attr.txt",
        "rows": 3,
        "delimiter": " ",
        "preamble": ["{rows}"],
        "columns": [
            {"name": "", "kind": "index", "format": "{:04d}.jpg"},
            {"name": "Male", "kind": "category", "values": ["1", "-1"]},
        ],
    }
    standins.check("attrs", spec)
    standins.build(spec, tmp_path, tmp_path, tmp_path, tmp_path)
    lines = (tmp_path / "list_attr.txt").read_text().splitlines()
    assert lines[:2] == ["3", " Male"]  # CelebA's layout: a count, then the attribute names
    assert [ln.split()[0] for ln in lines[2:]] == ["0000.jpg", "0001.jpg", "0002.jpg"]
    assert {ln.split()[1] for ln in lines[2:]} <= {"1", "-1"}
