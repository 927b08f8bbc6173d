"""The pre-commit hooks, run by the real ``pre-commit`` tool against this checkout.

``pre-commit try-repo`` installs this repository (its committed state plus tracked changes in the
working tree; new files count only once staged or committed) into its own virtual environment
from PyPI, then runs a hook in a throw-away git repository. The first run takes ~40 s (creating
that environment); ``PRE_COMMIT_HOME`` points at a temporary folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from converter import convert_source

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "tests" / "fuzz_seeds"

BROKEN = "import torch\n\ndef train(model:\n    loss.backward()\n    opt.step()\n"
PLAIN = "import os\n\nprint(os.getcwd())\n"


def converting_sample() -> tuple[str, str] | None:
    candidates = (
        sorted((ROOT / "tests" / "golden").glob("*.in.py"))
        + sorted((ROOT / "fixtures").glob("*.py"))
        + sorted(SEEDS.glob("*.py"))
    )
    for path in candidates:
        source = path.read_text(encoding="utf-8")
        try:
            if convert_source(source, filename=path.name).changed:
                return path.name.replace(".in.py", ".py"), source
        except Exception:  # noqa: BLE001 - a sample the converter cannot take yet
            continue
    return None


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def user_repo(tmp_path) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    for args in (
        ["init", "-q", "."],
        ["config", "user.email", "dev@example.com"],
        ["config", "user.name", "Dev"],
        ["config", "commit.gpgsign", "false"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True)
    return repo


def try_repo(repo: Path, home: Path, hook: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(home)
    env["PRE_COMMIT_COLOR"] = "never"
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--color", "never"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    if "An error has occurred" in out:
        pytest.fail(f"pre-commit could not run the hook:\n{out}")
    if "Traceback (most recent call last)" in out:
        pytest.fail(
            "the hook crashed in pre-commit's environment, which holds the committed tree plus "
            f"tracked changes (untracked files are left out):\n{out}"
        )
    return proc


def stage(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (repo / name).write_text(text)
    subprocess.run(["git", "add", *files], cwd=repo, check=True)


def test_manifest_declares_both_hooks():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"torch2lightning", "torch2lightning-check"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "jupyter"]  # scripts and notebooks
        assert hook["entry"].startswith("torch2lightning convert")
    assert "--exit-nonzero-on-change" in hooks["torch2lightning"]["entry"]
    assert "--check" in hooks["torch2lightning-check"]["entry"].split()


def test_check_hook_shows_the_diff_changes_nothing_and_fails(user_repo, pre_commit_home):
    sample = converting_sample()
    files = {"plain.py": PLAIN, "broken.py": BROKEN}
    if sample:
        files[sample[0]] = sample[1]
    stage(user_repo, files)
    proc = try_repo(user_repo, pre_commit_home, "torch2lightning-check")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "torch2lightning (check)" in out and "Failed" in out
    assert re.search(r"^broken\.py:\d+:\d+: cannot parse: ", out, re.M), out
    if sample:
        assert f"--- {sample[0]}\t(original)" in out
        assert f"would convert {sample[0]}" in out
    for name, text in files.items():  # nothing written
        assert (user_repo / name).read_text() == text


def test_check_hook_passes_on_files_with_nothing_to_convert(user_repo, pre_commit_home):
    stage(
        user_repo,
        {
            "plain.py": PLAIN,
            "loop.py": "def run(loss, opt):\n    loss.backward()\n    opt.step()\n",
            # No training words: not parsed, so its syntax error is not the hook's to report.
            "wip.py": "def unfinished(:\n    pass\n",
        },
    )
    proc = try_repo(user_repo, pre_commit_home, "torch2lightning-check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout
    assert "cannot parse" not in proc.stdout + proc.stderr


def test_readme_says_which_staged_files_the_hooks_parse():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Pre-commit", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(section.split())
    assert "fail (exit 123) on a staged file that holds a training loop's words" in flat
    assert "without those words is not parsed at all" in flat


def test_convert_hook_rewrites_staged_files_and_fails_the_commit(user_repo, pre_commit_home):
    sample = converting_sample()
    if sample is None:
        pytest.skip("convert_source converts none of the sample scripts yet")
    name, source = sample
    stage(user_repo, {name: source, "plain.py": PLAIN})
    proc = try_repo(user_repo, pre_commit_home, "torch2lightning")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Failed" in out
    assert (user_repo / name).read_text() == convert_source(source).code
    assert (user_repo / "plain.py").read_text() == PLAIN

    # The user stages the conversion and commits again: nothing left to do, the hook passes.
    subprocess.run(["git", "add", name], cwd=user_repo, check=True)
    proc = try_repo(user_repo, pre_commit_home, "torch2lightning")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout


NOTEBOOK = ROOT / "fixtures" / "notebooks" / "mnist_classifier.ipynb"
CONVERTED_NOTEBOOK = ROOT / "fixtures" / "converted" / "mnist_classifier.ipynb"


def test_hooks_convert_staged_notebooks(user_repo, pre_commit_home):
    (user_repo / "mnist.ipynb").write_bytes(NOTEBOOK.read_bytes())
    stage(user_repo, {"plain.py": PLAIN})
    subprocess.run(["git", "add", "mnist.ipynb"], cwd=user_repo, check=True)

    proc = try_repo(user_repo, pre_commit_home, "torch2lightning-check")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "--- mnist.ipynb cell 8\t(original)" in out  # the diff, cell by cell
    assert "+class Net(pl.LightningModule):" in out
    assert (user_repo / "mnist.ipynb").read_bytes() == NOTEBOOK.read_bytes()

    proc = try_repo(user_repo, pre_commit_home, "torch2lightning")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "converted mnist.ipynb (cells 2, 8, 10, 11, 12, 14 changed, outputs cleared)" in out
    assert (user_repo / "mnist.ipynb").read_bytes() == CONVERTED_NOTEBOOK.read_bytes()

    subprocess.run(["git", "add", "mnist.ipynb"], cwd=user_repo, check=True)
    for hook in ("torch2lightning", "torch2lightning-check"):
        proc = try_repo(user_repo, pre_commit_home, hook)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Passed" in proc.stdout


def _readme_config() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Pre-commit", 1)[1].split("\n## ", 1)[0]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_readme_config_resolves_runs_and_excludes(user_repo, pre_commit_home):
    """The README's `.pre-commit-config.yaml`, as a user pastes it: pre-commit accepts it (no
    `rev:` that names nothing), the hook converts a staged script, and `exclude:` keeps the
    excluded one as it is (the hook names each file, so `--exclude` could not)."""
    config = _readme_config()
    repos = yaml.safe_load(config)["repos"]
    assert all(r["repo"] == "local" or "rev" in r for r in repos)
    sample = converting_sample()
    if sample is None:
        pytest.skip("convert_source converts none of the sample scripts yet")
    name, source = sample
    (user_repo / "third_party").mkdir()
    (user_repo / ".pre-commit-config.yaml").write_text(config)
    stage(user_repo, {".pre-commit-config.yaml": config, name: source, "third_party/v.py": source})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(pre_commit_home)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=user_repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert "An error has occurred" not in out, out
    assert proc.returncode == 1 and "Failed" in out, out
    assert (user_repo / name).read_text() == convert_source(source).code
    assert (user_repo / "third_party" / "v.py").read_text() == source
