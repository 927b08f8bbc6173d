"""Warm starts (converter/verify/warm.py): a run of the conversion forked from a process that has
imported Lightning is the run a fresh process makes; what may be imported ahead is only what the
script imports before any code of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from converter.verify import fakedata, runs, warm
from tests.test_golden import GOLDEN


@pytest.mark.parametrize(
    "source, expected",
    [
        (
            "import torch\nimport torch.nn as nn\nfrom torchvision import datasets\n"
            "import pytorch_lightning as pl\n",
            ["torch", "torch.nn", "torchvision", "pytorch_lightning"],
        ),
        (
            '"""Doc."""\nfrom __future__ import annotations\nimport argparse, os\n'
            "import numpy as np\nimport lightning as L\n",
            ["lightning"],
        ),
        ("from lightning.pytorch import Trainer\nx = 1\nimport torch\n", ["lightning.pytorch"]),
        ("from lightning.fabric import Fabric\n", ["lightning.fabric"]),
    ],
)
def test_what_the_script_imports_first_is_imported_ahead(source, expected):
    assert warm.preloads(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("import torch\nimport torch.nn as nn\n", id="no Lightning: nothing gained"),
        pytest.param(
            "import torch\ntorch.set_default_dtype(torch.float64)\nimport pytorch_lightning\n",
            id="code of its own before Lightning",
        ),
        pytest.param(
            "import torch\nfrom model import Net\nimport pytorch_lightning\n",
            id="a module of its own before Lightning",
        ),
        pytest.param(
            "import matplotlib.pyplot as plt\nimport pytorch_lightning\n",
            id="another library before Lightning",
        ),
        pytest.param("from . import data\nimport pytorch_lightning\n", id="a relative import"),
        pytest.param(
            "try:\n    import pytorch_lightning\nexcept ImportError:\n    pass\n", id="try"
        ),
        pytest.param("import pytorch_lightning as pl\nclass Broken(:\n", id="does not parse"),
    ],
)
def test_a_script_with_code_before_lightning_starts_cold(source):
    assert warm.preloads(source) == []


PROBE = """\
import gc, json, os, sys
import pytorch_lightning as pl
import torch
import torch._inductor.config
from lightning_utilities.core.rank_zero import rank_zero_only
from torchmetrics.utilities.prints import rank_zero_only as metrics_rank_zero_only

seen = {
    "argv": sys.argv[1:],
    "cwd": os.path.basename(os.getcwd()),
    "rank": rank_zero_only.rank,
    "metrics_rank": metrics_rank_zero_only.rank,
    "env": {k: os.environ.get(k) for k in ("LOCAL_RANK", "PYTORCH_NVML_BASED_CUDA_CHECK", "MINE")},
    "own_session": os.getsid(0) == os.getpid(),
    "stdin_is_a_terminal": sys.stdin.isatty(),
    "threads": torch.get_num_threads(),
    "collector_on": gc.isenabled(),
    "deterministic": torch.are_deterministic_algorithms_enabled(),
    "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
    "inductor_deterministic": torch._inductor.config.deterministic,
    "mps": torch.backends.mps.is_available(),
    "tool_importable": any(m == "converter" or m.startswith("converter.") for m in sys.modules),
    "first_random": torch.rand(1).item(),
}
print(json.dumps(seen, sort_keys=True))
"""


def _probe(tmp_path: Path, stage: warm.Stage | None, name: str) -> dict:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env, own = runs.environment(seed=0, gpu=False)
    run = runs.Run.in_folder(name, script, tmp_path, env={"LOCAL_RANK": "1", "MINE": "yes"})
    run.warm = stage
    runs.start(run, ["--flag", "x"], own, [tmp_path], runs.without_launchers(env))
    runs.wait([run], None)
    runs.close_terminal(run)
    assert run.proc.returncode == 0, run.stderr.read_text()
    return {"forked": isinstance(run.proc, warm.Forked), **json.loads(run.stdout.read_text())}


def test_a_forked_run_sees_what_a_fresh_process_sees(tmp_path):
    env, _ = runs.environment(seed=0, gpu=False)
    log = tmp_path / "server.log"
    server = warm.Server(runs.without_launchers(env), tmp_path, log)
    try:
        forked = _probe(tmp_path, server.stage(["pytorch_lightning"]), "warm")
    finally:
        server.close()
    fresh = _probe(tmp_path, None, "cold")
    assert forked.pop("forked") and not fresh.pop("forked")
    assert forked.pop("cwd") == "warm" and fresh.pop("cwd") == "cold"
    assert forked == fresh
    # the server imported Lightning with no rank set; the run is rank 1, as imported fresh
    assert fresh["rank"] == fresh["metrics_rank"] == 1
    assert fresh["env"] == {"LOCAL_RANK": "1", "PYTORCH_NVML_BASED_CUDA_CHECK": "1", "MINE": "yes"}
    assert fresh["own_session"] and fresh["stdin_is_a_terminal"] and fresh["threads"] == 1
    assert fresh["collector_on"] and fresh["deterministic"] and fresh["warn_only"]
    assert fresh["inductor_deterministic"] and not fresh["mps"]


PLAIN = """\
import json, sys
import torch
seen = {"dynamo_loaded": "torch._dynamo" in sys.modules}
seen["torchvision_loaded"] = "torchvision" in sys.modules
seen["deterministic"] = torch.are_deterministic_algorithms_enabled()
import torch._inductor.config  # as torch.compile, torchvision and Lightning import it
seen["inductor_deterministic"] = torch._inductor.config.deterministic
seen["mps"] = torch.backends.mps.is_available()
from torchvision.datasets.mnist import MNIST  # the stand-in, however it is imported
seen["mnist_items"] = len(MNIST("nowhere", download=True))
print(json.dumps(seen, sort_keys=True))
"""


def _plain(tmp_path: Path, stage: warm.Stage | None, name: str) -> tuple[dict, bool]:
    """What the plain script saw, and whether its run was forked."""
    script = tmp_path / "plain.py"
    script.write_text(PLAIN)
    env, own = runs.environment(seed=0, gpu=False)
    run = runs.Run.in_folder(name, script, tmp_path)
    run.warm = stage
    runs.start(run, [], [*own, "--fake-data"], [tmp_path], runs.without_launchers(env))
    runs.wait([run], None)
    runs.close_terminal(run)
    assert run.proc.returncode == 0, run.stderr.read_text()
    return json.loads(run.stdout.read_text()), isinstance(run.proc, warm.Forked)


def test_a_plain_torch_script_is_deterministic_without_loading_what_it_does_not_import(
    tmp_path,
):
    """The runner makes kernels deterministic without importing torch's compiler stack (dynamo,
    which `torch.use_deterministic_algorithms` imports to set inductor's flag), and `--fake-data`
    does not import torchvision ahead of the script; the flag and the stand-ins are in place once
    the script imports them. The same holds for a run forked from a server that has imported
    torch (the original's run), and a server that has gone on to import Lightning forks no
    such run: it starts cold."""
    expected = {
        "dynamo_loaded": False,
        "torchvision_loaded": False,
        "deterministic": True,
        "inductor_deterministic": True,
        "mps": False,
        "mnist_items": fakedata.FAKE_TRAIN,
    }
    assert _plain(tmp_path, None, "cold") == (expected, False)
    env, _ = runs.environment(seed=0, gpu=False)
    server = warm.Server(runs.without_launchers(env), tmp_path, tmp_path / "server.log")
    try:
        original, conversion = server.stage([]), server.stage(["pytorch_lightning"])
        assert _plain(tmp_path, original, "forked") == (expected, True)
        assert _probe(tmp_path, conversion, "lightning")["forked"]
        assert _plain(tmp_path, original, "after") == (expected, False)
    finally:
        server.close()
    assert (original.forked, conversion.forked) == (1, 1)


@pytest.mark.training
def test_a_warm_verify_reports_what_a_cold_one_does(tmp_path):
    def verify(*flags: str) -> dict:
        command = [
            sys.executable,
            "-m",
            "converter",
            "verify",
            str(GOLDEN / "val_and_test.in.py"),
            "--against",
            str(GOLDEN / "val_and_test.out.py"),
            "--fake-data",
            "--lightning-uses",
            "--devices",
            "2",
            "--json",
            *flags,
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        result = json.loads(run.stdout)
        for summary in result["runs"].values():
            summary.pop("seconds", None)
        return result

    warm_result, cold_result = verify(), verify("--cold-start")
    assert warm_result.pop("original_started") == "forked from one that imported torch"
    started = warm_result.pop("conversion_started")
    assert started.startswith("forked from one that imported torch, ") and "lightning" in started
    assert cold_result.pop("original_started") == "fresh processes"
    assert cold_result.pop("conversion_started") == "fresh processes"
    assert warm_result == cold_result
