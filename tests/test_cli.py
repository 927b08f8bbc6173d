"""`torch2lightning convert`, run as users run it: a subprocess on real files in a temporary folder.

Tests that need a file the converter actually converts pick one from the repository's sample
scripts at test time and skip, saying so, while ``convert_source`` still returns them unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest

from converter import convert_source

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "tests" / "fuzz_seeds"

# A script with the words of a training loop (so it is not pre-filtered) that no converter can
# turn into Lightning: there is no model, no optimizer, no data.
LOOP_WORDS = "def run(loss, opt):\n    loss.backward()\n    opt.step()\n"
# A file without backward() or .step(): skipped before any parse.
PLAIN = "import os\n\nprint(os.getcwd())\n"
NO_TRAINING = "no training loop"


def child_env() -> dict[str, str]:
    """The environment for a child: this checkout first on the import path, no NO_COLOR."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def cli(*args, cwd: Path, stdin: bytes | None = None, timeout: float = 120):
    env = child_env()
    return subprocess.run(
        [sys.executable, "-m", "converter", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=env,
    )


def text_of(proc) -> str:
    return proc.stderr.decode("utf-8", "replace")


def converting_sample(target: str = "pytorch_lightning") -> tuple[str, str]:
    """(name, source) of a repository sample the converter changes; skips while there is none."""
    candidates = (
        sorted((ROOT / "tests" / "golden").glob("*.in.py"))
        + sorted((ROOT / "fixtures").glob("*.py"))
        + sorted(SEEDS.glob("*.py"))
    )
    for path in candidates:
        source = path.read_text(encoding="utf-8")
        try:
            if convert_source(source, target=target, filename=path.name).changed:
                return path.name.replace(".in.py", ".py"), source
        except Exception:  # noqa: BLE001 - a sample the converter cannot take yet
            continue
    pytest.skip("convert_source converts none of the sample scripts yet (returns them unchanged)")


def expected_code(source: str, target: str = "pytorch_lightning") -> str:
    return convert_source(source, target=target).code


def snapshot(tree: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()
    }


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


# --- help, version, imports ------------------------------------------------------------------


def test_help_documents_every_exit_code(tmp_path):
    proc = cli("convert", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert "Exit codes:" in out
    for code, words in [("0", "done"), ("1", "would change"), ("123", "could not be processed")]:
        assert re.search(rf"^\s+{code}\s+.*{words}", out, re.M), (code, out)
    for option in ("--diff", "--check", "--output", "--target", "--report", "--json", "--jobs"):
        assert option in out


def test_version(tmp_path):
    proc = cli("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert re.fullmatch(r"torch2lightning, version \d+\.\d+\.\d+\S*\n", proc.stdout.decode())


def _imported_modules(importtime_stderr: str) -> set[str]:
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in importtime_stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize("args", [("--version",), ("convert", "--check", "train.py")])
def test_cli_never_imports_torch(tmp_path, args):
    write(tmp_path / "train.py", "import torch\n" + LOOP_WORDS)
    env_args = ("-X", "importtime", "-m", "converter", *args)
    proc = subprocess.run(
        [sys.executable, *env_args],
        cwd=tmp_path,
        capture_output=True,
        env=child_env(),
        timeout=60,
    )
    assert proc.returncode in (0, 1), proc.stderr.decode()
    modules = _imported_modules(proc.stderr.decode())
    assert "click" in modules  # the import log is really there
    assert not {m for m in modules if m == "torch" or m.startswith(("torch.", "lightning"))}


# --- discovery -------------------------------------------------------------------------------


def test_directories_are_walked_with_the_usual_excludes(tmp_path):
    broken = "def broken(:\n    loss.backward()\n    opt.step()\n"
    for excluded in [
        ".git/hooks/x.py",
        ".venv/lib/x.py",
        "venv/x.py",
        "__pycache__/x.py",
        "build/lib/x.py",
        "dist/x.py",
        ".tox/py311/x.py",
        "node_modules/pkg/x.py",
        "lib/site-packages/pkg/x.py",
        "myenv/bin/x.py",  # a virtual environment under another name (has pyvenv.cfg)
        "pkg.egg-info/x.py",
    ]:
        write(tmp_path / "proj" / excluded, broken)
    write(tmp_path / "proj" / "myenv" / "pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path / "proj" / "train.py", LOOP_WORDS)
    write(tmp_path / "proj" / "pkg" / "model.py", PLAIN)
    write(tmp_path / "proj" / "pkg" / "notes.txt", "not python\n")
    write(tmp_path / "proj" / "pkg" / "stub.pyi", "def f() -> int: ...\n")

    proc = cli("convert", "--check", "--json", "proj", cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert sorted(f["file"] for f in doc["files"]) == [
        os.path.join("proj", "pkg", "model.py"),
        os.path.join("proj", "train.py"),
    ]
    assert proc.returncode in (0, 1), text_of(proc)
    # A folder named on the command line is entered even if its name is excluded.
    proc = cli("convert", "--check", "--json", "proj/build", cwd=tmp_path)
    assert [f["file"] for f in json.loads(proc.stdout)["files"]] == [
        os.path.join("proj", "build", "lib", "x.py")
    ]


def test_exclude_option_and_each_file_once(tmp_path):
    write(tmp_path / "src" / "a.py", PLAIN)
    write(tmp_path / "src" / "generated" / "b.py", PLAIN)
    write(tmp_path / "src" / "c_test.py", PLAIN)
    proc = cli(
        "convert",
        "--check",
        "--json",
        "--exclude",
        "generated",
        "--exclude",
        "*_test.py",
        "src",
        "src/a.py",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, text_of(proc)
    assert [f["file"] for f in json.loads(proc.stdout)["files"]] == [os.path.join("src", "a.py")]


def test_folder_without_python_files_says_so(tmp_path):
    write(tmp_path / "docs" / "index.md", "# docs\n")
    proc = cli("convert", "docs", cwd=tmp_path)
    assert proc.returncode == 0
    assert "docs: no Python files found" in text_of(proc)


def test_missing_argument_is_a_usage_error(tmp_path):
    proc = cli("convert", cwd=tmp_path)
    assert proc.returncode == 2
    assert "PATH" in text_of(proc)


# --- in place (the default) ------------------------------------------------------------------


def test_in_place_reports_each_file_and_leaves_unchanged_files_alone(tmp_path):
    a = write(tmp_path / "a.py", LOOP_WORDS)
    b = write(tmp_path / "sub" / "b.py", PLAIN)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (a, b)}
    proc = cli("convert", ".", cwd=tmp_path)
    err = text_of(proc)
    assert proc.returncode == 0, err
    reason = convert_source(LOOP_WORDS).report.declined
    assert expected_code(LOOP_WORDS) == LOOP_WORDS  # nothing here can convert
    line_a = next(line for line in err.splitlines() if line.startswith("unchanged a.py: "))
    if reason:
        assert reason[0].message in line_a
    assert f"unchanged {os.path.join('sub', 'b.py')}: {NO_TRAINING}" in err
    assert re.search(r"^All done: 0 files converted, 2 unchanged\.$", err, re.M)
    for p, (data, mtime) in before.items():
        assert p.read_bytes() == data
        assert p.stat().st_mtime_ns == mtime  # not even rewritten with the same bytes


def test_in_place_converts_and_keeps_the_mode(tmp_path):
    name, source = converting_sample()
    script = write(tmp_path / name, source)
    os.chmod(script, 0o751)
    proc = cli("convert", name, cwd=tmp_path)
    assert proc.returncode == 0, text_of(proc)
    assert script.read_text(encoding="utf-8") == expected_code(source)
    assert stat.S_IMODE(script.stat().st_mode) == 0o751
    assert f"converted {name}" in text_of(proc)
    assert "All done: 1 file converted, 0 unchanged." in text_of(proc)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".t2l-tmp")]


def test_exit_nonzero_on_change(tmp_path):
    name, source = converting_sample()
    write(tmp_path / name, source)
    write(tmp_path / "plain.py", PLAIN)
    proc = cli("convert", "--exit-nonzero-on-change", "plain.py", cwd=tmp_path)
    assert proc.returncode == 0
    proc = cli("convert", "--exit-nonzero-on-change", ".", cwd=tmp_path)
    assert proc.returncode == 1, text_of(proc)
    assert (tmp_path / name).read_text(encoding="utf-8") == expected_code(source)


@pytest.mark.parametrize("target", ["pytorch_lightning", "lightning"])
def test_target_option(tmp_path, target):
    write(tmp_path / "a.py", LOOP_WORDS)
    proc = cli("convert", "--check", "--json", "--target", target, "a.py", cwd=tmp_path)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["target"] == target
    proc = cli("convert", "--target", "keras", "a.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "keras" in text_of(proc)


def test_lightning_target_output(tmp_path):
    name, source = converting_sample("lightning")
    write(tmp_path / name, source)
    proc = cli("convert", "--target", "lightning", name, cwd=tmp_path)
    assert proc.returncode == 0, text_of(proc)
    assert (tmp_path / name).read_text(encoding="utf-8") == expected_code(source, "lightning")


# --- check and diff --------------------------------------------------------------------------


def test_check_on_files_that_do_not_change_exits_0_and_writes_nothing(tmp_path):
    write(tmp_path / "a.py", LOOP_WORDS)
    write(tmp_path / "b.py", PLAIN)
    before = snapshot(tmp_path)
    for flags in (["--check"], ["--check", "--diff"], ["--diff"], ["--diff", "--color"]):
        proc = cli("convert", *flags, ".", cwd=tmp_path)
        assert proc.returncode == 0, (flags, text_of(proc))
        assert proc.stdout == b""  # no diff when nothing changes
        assert "Checked: 0 files would be converted, 2 unchanged." in text_of(proc)
    assert snapshot(tmp_path) == before


def test_check_exits_1_when_a_file_would_change(tmp_path):
    name, source = converting_sample()
    write(tmp_path / name, source)
    write(tmp_path / "b.py", PLAIN)
    before = snapshot(tmp_path)
    proc = cli("convert", "--check", ".", cwd=tmp_path)
    assert proc.returncode == 1, text_of(proc)
    assert proc.stdout == b""
    assert f"would convert {name}" in text_of(proc)
    assert "Checked: 1 file would be converted, 1 unchanged." in text_of(proc)
    assert snapshot(tmp_path) == before


def test_diff_is_a_patch_that_converts_the_file(tmp_path):
    name, source = converting_sample()
    write(tmp_path / name, source)
    for flags, code in ((["--diff"], 0), (["--check", "--diff"], 1)):
        proc = cli("convert", *flags, name, cwd=tmp_path)
        assert proc.returncode == code, text_of(proc)
        diff = proc.stdout
        assert diff.startswith(f"--- {name}\t(original)\n+++ {name}\t(converted)\n".encode())
        assert b"\x1b[" not in diff  # not a terminal: no colors
        assert (tmp_path / name).read_text(encoding="utf-8") == source
    patched = tmp_path / "patched"
    patched.mkdir()
    shutil.copy(tmp_path / name, patched / name)
    applied = subprocess.run(
        ["patch", "-p0", "--quiet"], cwd=patched, input=diff, capture_output=True
    )
    assert applied.returncode == 0, applied.stderr
    assert (patched / name).read_text(encoding="utf-8") == expected_code(source)


def test_diff_colors(tmp_path):
    name, source = converting_sample()
    write(tmp_path / name, source)
    colored = cli("convert", "--diff", "--color", name, cwd=tmp_path).stdout
    plain = cli("convert", "--diff", "--no-color", name, cwd=tmp_path).stdout
    assert b"\x1b[32m+" in colored and b"\x1b[36m@@ " in colored
    if re.search(rb"^-(?!-- )", plain, re.M):  # a removed line
        assert b"\x1b[31m-" in colored
    assert b"\x1b[" not in plain
    assert re.sub(rb"\x1b\[\d*m", b"", colored) == plain


# --- output ----------------------------------------------------------------------------------


def test_output_file_for_a_single_input(tmp_path):
    write(tmp_path / "a.py", LOOP_WORDS)
    proc = cli("convert", "a.py", "-o", "out/converted.py", cwd=tmp_path)
    assert proc.returncode == 0, text_of(proc)
    assert (tmp_path / "out" / "converted.py").read_text() == expected_code(LOOP_WORDS)
    assert (tmp_path / "a.py").read_text() == LOOP_WORDS
    (tmp_path / "outdir").mkdir()
    proc = cli("convert", "a.py", "-o", "outdir", cwd=tmp_path)
    assert proc.returncode == 0, text_of(proc)
    assert (tmp_path / "outdir" / "a.py").read_text() == expected_code(LOOP_WORDS)


def test_output_folder_mirrors_the_tree_and_leaves_inputs_untouched(tmp_path):
    src = tmp_path / "src"
    write(src / "train.py", LOOP_WORDS)
    write(src / "pkg" / "__init__.py", "")
    write(src / "pkg" / "model.py", PLAIN)
    write(src / "pkg" / "config.yaml", "lr: 0.1\n")
    write(src / "run.sh", "#!/bin/sh\npython train.py\n")
    os.chmod(src / "run.sh", 0o755)
    write(src / ".venv" / "lib" / "x.py", PLAIN)
    for seed in sorted(SEEDS.glob("*.py")):
        shutil.copy(seed, src / seed.name)
    before = snapshot(src)

    proc = cli("convert", "src", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, text_of(proc)
    assert snapshot(src) == before
    out = snapshot(tmp_path / "out")
    expected_names = sorted(k for k in before if not k.startswith(".venv"))
    assert sorted(out) == expected_names
    for rel, data in before.items():
        if rel.startswith(".venv"):
            continue
        if rel.endswith(".py"):
            assert out[rel].decode() == expected_code(data.decode()), rel
        else:
            assert out[rel] == data
    assert stat.S_IMODE((tmp_path / "out" / "run.sh").stat().st_mode) == 0o755


OVERLAPS = [
    # (arguments, what the refusal says): every way an output can overlap an input.
    (["src", "-o", "src/pkg"], "--output src/pkg lies inside the input folder src"),
    (["src", "-o", "src/new"], "--output src/new lies inside the input folder src"),
    (["src", "-o", "link/new"], "--output link/new lies inside the input folder src"),
    (["src", "-o", "src"], "--output src is the input src"),
    (["src", "-o", "link"], "--output link is the input src"),
    (["src/pkg/train.py", "-o", "src/pkg/train.py"], "is the input src/pkg/train.py"),
    (["one.py", "-o", "."], "would write one.py over the input one.py"),
    (["src/pkg/train.py", "-o", "src/pkg"], "over the input src/pkg/train.py"),
    (["src", "-o", "."], "the input src lies inside --output ."),
    (["src/pkg", "-o", "src"], "the input src/pkg lies inside --output src"),
    (["src/pkg/train.py", "-o", "src"], "the input src/pkg/train.py lies inside --output src"),
    (["one.py", "src", "-o", "src"], "--output src is the input src"),
]


@pytest.mark.parametrize("args,says", OVERLAPS, ids=[" ".join(a) for a, _ in OVERLAPS])
def test_an_output_that_overlaps_an_input_is_refused(tmp_path, args, says):
    write(tmp_path / "one.py", LOOP_WORDS)
    write(tmp_path / "src" / "train.py", LOOP_WORDS)
    write(tmp_path / "src" / "pkg" / "train.py", "# the user's own file\n" + LOOP_WORDS)
    write(tmp_path / "src" / "pkg" / "README.md", "the user's notes\n")
    (tmp_path / "link").symlink_to("src")
    before = snapshot(tmp_path)
    proc = cli("convert", *args, cwd=tmp_path)
    err = text_of(proc)
    assert proc.returncode == 2, err
    assert says in err, err
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before  # nothing read into place, nothing written


def test_output_beside_the_input_is_fine(tmp_path):
    write(tmp_path / "src" / "a.py", PLAIN)
    write(tmp_path / "src" / "pkg" / "b.py", LOOP_WORDS)
    for args in (["src", "-o", "out"], ["src/pkg/b.py", "-o", "src/b_pl.py"]):
        proc = cli("convert", *args, cwd=tmp_path)
        assert proc.returncode == 0, (args, text_of(proc))
    assert (tmp_path / "out" / "a.py").read_text() == PLAIN
    assert (tmp_path / "src" / "b_pl.py").read_text() == expected_code(LOOP_WORDS)
    proc = cli("convert", "src/a.py", "other/a.py", "-o", "out2", cwd=tmp_path)
    assert proc.returncode == 123  # other/a.py does not exist: reported, a.py converted
    write(tmp_path / "other" / "a.py", PLAIN)
    proc = cli("convert", "src/a.py", "other/a.py", "-o", "out3", cwd=tmp_path)
    assert proc.returncode == 2
    assert "both be written" in text_of(proc)


def test_several_inputs_go_under_the_output_folder_by_name(tmp_path):
    write(tmp_path / "one" / "a.py", PLAIN)
    write(tmp_path / "two.py", LOOP_WORDS)
    proc = cli("convert", "one", "two.py", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, text_of(proc)
    assert (tmp_path / "out" / "one" / "a.py").read_text() == PLAIN
    assert (tmp_path / "out" / "two.py").read_text() == expected_code(LOOP_WORDS)


# --- standard input --------------------------------------------------------------------------


def test_stdin_to_stdout(tmp_path):
    data = "# -*- coding: latin-1 -*-\r\n# caf\xe9\r\n".encode("latin-1") + LOOP_WORDS.replace(
        "\n", "\r\n"
    ).encode("latin-1")
    proc = cli("convert", "-", cwd=tmp_path, stdin=data)
    assert proc.returncode == 0, text_of(proc)
    assert proc.stdout == data
    assert "unchanged <stdin>" in text_of(proc)
    proc = cli("convert", "--check", "-", cwd=tmp_path, stdin=data)
    assert (proc.returncode, proc.stdout) == (0, b"")


def test_stdin_converts(tmp_path):
    name, source = converting_sample()
    proc = cli("convert", "-", cwd=tmp_path, stdin=source.encode())
    assert proc.returncode == 0, text_of(proc)
    assert proc.stdout.decode() == expected_code(source)
    proc = cli("convert", "--check", "-", cwd=tmp_path, stdin=source.encode())
    assert (proc.returncode, proc.stdout) == (1, b"")


def test_stdin_with_json_is_refused_when_code_goes_to_stdout(tmp_path):
    proc = cli("convert", "--json", "-", cwd=tmp_path, stdin=PLAIN.encode())
    assert proc.returncode == 2
    proc = cli("convert", "--json", "--check", "-", cwd=tmp_path, stdin=PLAIN.encode())
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["files"][0]["file"] == "<stdin>"


# --- reports ---------------------------------------------------------------------------------


def _tree_for_reports(tmp_path: Path) -> list[str]:
    write(tmp_path / "loop.py", LOOP_WORDS)
    write(tmp_path / "plain.py", PLAIN)
    names = ["loop.py", "plain.py"]
    for seed in sorted(SEEDS.glob("*.py")):
        shutil.copy(seed, tmp_path / seed.name)
        names.append(seed.name)
    return names


def test_report_file_lists_each_change_and_decline_with_line_and_reason(tmp_path):
    names = _tree_for_reports(tmp_path)
    proc = cli("convert", "--check", "--report", "report.txt", *names, "missing.py", cwd=tmp_path)
    assert proc.returncode == 123  # missing.py
    report = (tmp_path / "report.txt").read_text()
    blocks = {}
    for block in re.split(r"\n(?=\S)", report):
        head = block.split(":", 1)[0]
        blocks[head] = block
    for name in names:
        assert name in blocks, report
        source = (tmp_path / name).read_text()
        if name == "plain.py":
            assert NO_TRAINING in blocks[name]
            continue
        result = convert_source(source, filename=name).report
        for title, entries in (("changed", result.changed), ("declined", result.declined)):
            for e in entries:
                assert re.search(
                    rf"line\s+{e.line}\s+{title}\s+{re.escape(e.kind)}: {re.escape(e.message)}",
                    blocks[name],
                ), (name, e, blocks[name])
    assert "missing.py: no such file or directory" in blocks["missing.py"]
    assert "could not be processed" in report.splitlines()[-1]


def test_json_report(tmp_path):
    names = _tree_for_reports(tmp_path)
    proc = cli("convert", "--check", "--json", *names, cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert doc["exit_code"] == proc.returncode
    assert doc["mode"] == "check"
    assert [f["file"] for f in doc["files"]] == names
    by_name = {f["file"]: f for f in doc["files"]}
    assert by_name["plain.py"]["status"] == "unchanged"
    assert by_name["plain.py"]["skipped"] is True
    for name in names[:1] + names[2:]:
        result = convert_source((tmp_path / name).read_text(), filename=name)
        entry = by_name[name]
        assert entry["skipped"] is False
        assert entry["status"] == ("converted" if result.changed else "unchanged")
        assert entry == {
            **entry,
            **{k: v for k, v in result.report.to_dict().items() if k != "file"},
        }
    summary = doc["summary"]
    assert summary["files"] == len(names)
    assert summary["converted"] + summary["unchanged"] == len(names)
    assert summary["errors"] == 0
    assert proc.returncode == (1 if summary["converted"] else 0)


def test_json_with_diff_carries_the_diff(tmp_path):
    name, source = converting_sample()
    write(tmp_path / name, source)
    proc = cli("convert", "--diff", "--json", name, cwd=tmp_path)
    entry = json.loads(proc.stdout)["files"][0]
    assert entry["status"] == "converted"
    assert entry["diff"].startswith(f"--- {name}\t(original)\n")


def test_quiet_and_verbose(tmp_path):
    write(tmp_path / "a.py", LOOP_WORDS)
    write(tmp_path / "b.py", PLAIN)
    proc = cli("convert", "-q", ".", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, b"")
    proc = cli("convert", "-q", ".", "missing.py", cwd=tmp_path)
    assert proc.returncode == 123
    assert text_of(proc).strip() == "missing.py: no such file or directory"
    proc = cli("convert", "-v", ".", cwd=tmp_path)
    assert proc.returncode == 0
    for e in convert_source(LOOP_WORDS, filename="a.py").report.declined:
        assert f"a.py:{e.line}: declined {e.kind}: {e.message}" in text_of(proc)
    assert cli("convert", "-q", "-v", ".", cwd=tmp_path).returncode == 2


# --- parallel --------------------------------------------------------------------------------


def test_jobs_give_the_same_results_as_one_process(tmp_path):
    for i in range(6):
        write(tmp_path / "t" / f"loop{i}.py", LOOP_WORDS + f"# {i}\n")
        write(tmp_path / "t" / f"plain{i}.py", PLAIN)
    for seed in sorted(SEEDS.glob("*.py")):
        shutil.copy(seed, tmp_path / "t" / seed.name)
    write(tmp_path / "t" / "binary.py", b"\0\1backward")
    runs = {}
    for jobs in ("1", "2", "0"):
        proc = cli("convert", "--check", "--json", "-j", jobs, "t", cwd=tmp_path)
        assert proc.returncode == 123  # binary.py
        runs[jobs] = json.loads(proc.stdout)
    assert runs["1"] == runs["2"] == runs["0"]
    assert len(runs["1"]["files"]) == 15


# --- the pre-filter --------------------------------------------------------------------------


def test_files_without_training_words_are_not_parsed(tmp_path):
    # Unparsable, but without both backward() and .step(): skipped before any parse, no error.
    write(tmp_path / "a.py", "def broken(:\n    pass\n")
    write(tmp_path / "b.py", "def broken(:\n    loss.backward()\n")
    write(tmp_path / "c.py", "def broken(:\n    optimizer.step()\n")
    proc = cli("convert", "--check", "--json", ".", cwd=tmp_path)
    assert proc.returncode == 0, text_of(proc)
    entries = json.loads(proc.stdout)["files"]
    assert len(entries) == 3
    for entry in entries:
        assert entry["skipped"] is True and entry["message"].startswith(NO_TRAINING)
        assert entry["found"] == entry["changed"] == entry["declined"] == []
    # With both words the file is parsed, and the syntax error is reported.
    write(tmp_path / "d.py", "def broken(:\n    loss.backward()\n    optimizer.step ()\n")
    proc = cli("convert", "--check", "d.py", cwd=tmp_path)
    try:
        convert_source("def broken(:\n")
    except Exception:  # noqa: BLE001 - the converter parses: the CLI must report the error
        assert proc.returncode == 123, text_of(proc)
        assert re.search(r"^d\.py:\d+:\d+: cannot parse: ", text_of(proc), re.M)


def test_a_source_checkout_on_pythonpath_converts_without_being_installed(tmp_path):
    """Tools run the converter from a checkout with PYTHONPATH (benchmarks on a bare machine):
    the templates are then read from templates/ beside converter/, not from the installed
    package's data."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "converter", checkout / "converter")
    shutil.copytree(ROOT / "templates", checkout / "templates")
    script = tmp_path / "train.py"
    shutil.copy(ROOT / "tests" / "golden" / "flat_script.in.py", script)
    # -S: no site processing, so no .pth file installs this project (an editable install's
    # finder would serve converter.templates); LibCST and click still come from site-packages.
    site_packages = Path(click.__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-S", "-m", "converter", "convert", "--check", str(script)],
        capture_output=True,
        text=True,
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(checkout), str(site_packages)])},
    )
    assert result.returncode == 1, result.stderr  # would change: it converted
    assert "would convert" in result.stderr + result.stdout
