"""`torch2lightning verify` on hostile input and in hostile conditions (issue 12, items 8 and 12):
a crash of the tool is never reported as a divergence (exit 1), bad input gets one line and exit 2,
and no exit path (error, timeout, Ctrl-C, SIGTERM) leaves processes or a temporary folder behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.verify import command
from tests.test_verify import CASES, explain, needs_lightning, verify


def _private_tmp(tmp_path: Path) -> tuple[Path, dict]:
    """A TMPDIR of the test's own, to see whether verify leaves a folder there."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return tmp, {"TMPDIR": str(tmp)}


def _left_behind(tmp: Path) -> list[Path]:
    """verify's temporary folders in ``tmp`` (torch keeps caches of its own there)."""
    return list(tmp.glob("torch2lightning-verify-*"))


def _processes_running(needle: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if needle in cmdline:
            found.append(cmdline)
    return found


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.training
@needs_lightning
def test_latin1_script_is_read_in_its_declared_encoding(tmp_path):
    text = (CASES / "plain_train.py").read_text()
    text = "# -*- coding: latin-1 -*-\n" + text.replace(
        "def main():", 'def main():\n    print("données réelles: non")'
    )
    script = tmp_path / "latin1_train.py"
    script.write_bytes(text.encode("latin-1"))
    work = tmp_path / "work"
    result = verify(script, "--work-dir", work, "--", "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 0, explain(result)
    assert "EQUIVALENT" in result.stdout
    converted = (work / "converted" / "latin1_train.py").read_bytes()
    assert converted.startswith(b"# -*- coding: latin-1 -*-\n")
    assert 'print("donn\xe9es r\xe9elles: non")'.encode("latin-1") in converted


def test_undecodable_script_is_one_line_and_exit_2(tmp_path):
    script = tmp_path / "bad.py"
    script.write_bytes(b"# caf\xe9\nloss.backward()\noptimizer.step()\n")  # not UTF-8
    tmp, env = _private_tmp(tmp_path)
    result = verify(script, cwd=tmp_path, env=env)
    assert result.returncode == 2, explain(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{script}: cannot decode: "), lines
    assert _left_behind(tmp) == []


def test_syntax_error_is_one_line_and_exit_2(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text("for x in loader:\n    loss.backward(\noptimizer.step()\n")
    tmp, env = _private_tmp(tmp_path)
    result = verify(script, cwd=tmp_path, env=env)
    assert result.returncode == 2, explain(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{script}:") and "cannot parse" in lines[0]
    assert _left_behind(tmp) == []


def _deeply_nested(tmp_path: Path) -> Path:
    script = tmp_path / "deep.py"
    script.write_text(f"x = {'(' * 5000}1{')' * 5000}\nloss.backward()\noptimizer.step()\n")
    return script


def test_converter_crash_on_deep_nesting_leaves_no_temporary_folder(tmp_path):
    # The conversion happens in memory before verify makes any folder: even a crash of the
    # parser itself (LibCST segfaults on this input) leaves nothing behind.
    tmp, env = _private_tmp(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "converter", "verify", str(_deeply_nested(tmp_path))],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert _left_behind(tmp) == []


def test_deep_nesting_is_one_line_and_exit_2(tmp_path):
    script = _deeply_nested(tmp_path)
    result = verify(script, cwd=tmp_path)
    assert result.returncode == 2, explain(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{script}:") and "cannot parse" in lines[0]


def test_an_internal_error_is_exit_3_not_divergence_and_cleans_up(tmp_path, monkeypatch):
    tmp, _ = _private_tmp(tmp_path)
    monkeypatch.setattr(command.tempfile, "tempdir", str(tmp))

    def broken(*args, **kwargs):  # stands for any bug of verify after its folder exists
        assert _left_behind(tmp)
        raise RuntimeError("trace format changed")

    monkeypatch.setattr(command, "_verify", broken)
    script = CASES / "plain_train.py"
    result = CliRunner().invoke(main, ["verify", str(script), "--against", str(script)])
    assert result.exit_code == 3, result.output
    assert "verify: internal error: RuntimeError: trace format changed (please report)" in (
        result.output
    )
    assert _left_behind(tmp) == []


# -- the user's own modules ------------------------------------------------------------------


@pytest.mark.training
@needs_lightning
def test_script_imports_its_own_converter_module_not_the_tools(tmp_path):
    folder = CASES / "own_converter"
    result = verify(folder / "train.py", "--against", folder / "train_lightning.py", cwd=tmp_path)
    assert result.returncode == 0, explain(result)
    assert "EQUIVALENT" in result.stdout
    assert "printed output: 2 lines compared (original 2, lightning 2): the same" in result.stdout


@pytest.mark.training
@needs_lightning
def test_against_needs_no_converter(tmp_path):
    # --against compares two files as they are: it works where LibCST is missing (as on a GPU
    # machine with only torch and Lightning installed)
    code = (
        "import sys\n"
        "sys.modules['libcst'] = None  # any import of it fails\n"
        "from converter.cli import main\n"
        "main(sys.argv[1:], prog_name='torch2lightning')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "verify", str(CASES / "plain_train.py")]
        + ["--against", str(CASES / "lightning_train.py"), "--max-steps", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, explain(result)
    assert "losses compared: 2 " in result.stdout


# -- time limits and signals -----------------------------------------------------------------


def test_default_timeout_is_documented():
    result = CliRunner().invoke(main, ["verify", "--help"])
    text = " ".join(result.output.split())
    assert (
        "--timeout FLOAT RANGE Seconds allowed for each run (0: no limit). [default: 1800.0" in text
    )


@pytest.mark.training
def test_timeout_stops_both_runs_and_exits_2(tmp_path):
    tmp, env = _private_tmp(tmp_path)
    script = tmp_path / "sleeper.py"
    script.write_text((CASES / "sleeper.py").read_text())
    result = verify(script, "--against", script, "--timeout", "5", cwd=tmp_path, env=env)
    assert result.returncode == 2, explain(result)
    assert "it did not finish in time (--timeout)" in result.stderr
    assert _left_behind(tmp) == []
    assert _processes_running(str(script)) == []


@pytest.mark.training
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_runs_and_removes_the_temporary_folder(tmp_path, sig, code):
    tmp, env = _private_tmp(tmp_path)
    script = tmp_path / "sleeper.py"
    script.write_text((CASES / "sleeper.py").read_text())
    proc = subprocess.Popen(
        [sys.executable, "-m", "converter", "verify", str(script), "--against", str(script)],
        cwd=tmp_path,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        logs = []
        while time.monotonic() < deadline and not (
            len(logs) == 2 and all("started" in t for t in logs)
        ):
            time.sleep(0.2)
            logs = [p.read_text() for p in tmp.glob("*/*.stdout.log")]
        assert len(logs) == 2 and all("started" in t for t in logs), "the runs did not start"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, out + err
    assert "Traceback" not in err
    assert _left_behind(tmp) == []
    assert _processes_running(str(script)) == []


def _without_and_with(option: str, case: str, tmp_path: Path):
    """verify of a verify case as it is, then with a shim's option."""
    script = Path(__file__).parent / "verify_cases" / case
    command = [sys.executable, "-m", "converter", "verify", str(script), "--work-dir"]
    runs = []
    for name, extra in (("plain", []), ("shim", [option])):
        runs.append(
            subprocess.run(
                [*command, str(tmp_path / name), *extra],
                capture_output=True,
                text=True,
                timeout=600,
            )
        )
    return runs


def test_old_torch_api_lets_a_pytorch_0_3_script_verify(tmp_path):
    plain, shimmed = _without_and_with("--old-torch-api", "old_api.py", tmp_path)
    assert plain.returncode == 2, plain.stdout + plain.stderr  # the original cannot run as is
    assert "hint: --old-torch-api restores" in plain.stderr
    assert shimmed.returncode == 0, shimmed.stdout + shimmed.stderr
    assert "printed output: 8 lines compared" in shimmed.stdout


def test_cuda_on_cpu_lets_a_script_that_hard_codes_cuda_verify(tmp_path):
    plain, shimmed = _without_and_with("--cuda-on-cpu", "hard_coded_cuda.py", tmp_path)
    assert plain.returncode == 2, plain.stdout + plain.stderr  # no GPU for the original here
    assert "hint: --cuda-on-cpu runs" in plain.stderr
    assert shimmed.returncode == 0, shimmed.stdout + shimmed.stderr
    assert "losses compared: 8" in shimmed.stdout
    assert "printed output: 2 lines compared" in shimmed.stdout
    script = Path(__file__).parent / "verify_cases" / "hard_coded_cuda.py"
    command = [sys.executable, "-m", "converter", "verify", str(script), "--work-dir"]
    gpu = subprocess.run(
        [*command, str(tmp_path / "gpu"), "--cuda-on-cpu", "--accelerator", "gpu"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert gpu.returncode == 2 and "use one or the other" in gpu.stderr, gpu.stdout + gpu.stderr
