"""The command line over the adversarial corpus (``tests/adversarial/``), in every mode.

Whatever the corpus holds, a run must: finish (no hang), print no traceback, exit with the
documented status (123: some files could not be processed), give each bad file its one-line
message, leave every input it does not convert byte for byte as it was, convert the rest exactly
as ``convert_source`` does, and leave no temporary file behind.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from converter import convert_source
from tests.adversarial.corpus import CONVERTED, ERROR, build, reopen
from tests.support.cli import (
    child_env,
    command,
    converting_source,
    modes_binding,
    snapshot,
    temp_files,
)

MODES = {
    "in-place": [],
    "check": ["--check"],
    "diff": ["--diff"],
    "jobs": ["-j", "2"],
    "output": ["-o", "out"],
    "report-json": ["--check", "--json", "--report", "report.txt"],
}
WRITES_IN_PLACE = {"in-place", "jobs"}


def _converted(data: bytes, path: str) -> bytes:
    encoding = "latin-1" if path.endswith("latin1.py") else "utf-8"
    return convert_source(data.decode(encoding)).code.encode(encoding)


@pytest.mark.parametrize("mode", MODES)
def test_the_command_line_survives_the_corpus(tmp_path, mode):
    preexec, modes_bind = modes_binding()
    cases = build(tmp_path, converting_source(), modes_bind)
    named = [c.path for c in cases if c.named]
    before = snapshot(tmp_path)
    try:
        try:
            proc = subprocess.run(
                command("convert", *MODES[mode], "tree", *named),
                cwd=tmp_path,
                capture_output=True,
                env=child_env(),
                timeout=90,
                preexec_fn=preexec,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"{mode}: still running after 90 s: it hangs")
        after = snapshot(tmp_path)
    finally:
        reopen(tmp_path)
    err = proc.stderr.decode("utf-8", "replace")

    assert "Traceback" not in err, err
    assert proc.returncode == 123, err
    for case in cases:
        if case.expect != ERROR or (case.output_only and mode != "output"):
            continue
        at = re.escape(case.at) if case.at else r"(:\d+:\d+)?"
        line = rf"^{re.escape(case.path)}{at}: .*{re.escape(case.says)}"
        assert re.search(line, err, re.M), f"{mode}: no line for {case.path}\n{err}"
    assert temp_files(tmp_path) == []

    for rel, data in before.items():
        if rel.startswith("tree/closed/"):
            continue
        case = next((c for c in cases if c.path == rel), None)
        if mode in WRITES_IN_PLACE and case is not None and case.expect == CONVERTED:
            assert after[rel] == _converted(data, rel), f"{mode}: {rel} is not its conversion"
        else:
            assert after[rel] == data, f"{mode}: {rel} changed"
    if mode == "output":
        good = before["tree/good.py"]
        assert after["out/tree/good.py"] == _converted(good, "good.py")  # several inputs
        assert after["out/tree/huge_no_words.py"] == before["tree/huge_no_words.py"]
        assert not any(k.startswith("out/") and "fifo" in k for k in after)
    if mode == "report-json":
        doc = json.loads(proc.stdout)
        assert doc["exit_code"] == 123
        assert "could not be processed" in (tmp_path / "report.txt").read_text("utf-8", "replace")
