"""Unified diffs of a conversion, plain or colored (only the standard library)."""

from __future__ import annotations

import os

_NO_NEWLINE = "\\ No newline at end of file\n"

_RESET = "\033[0m"
_STYLES = {
    "header": "\033[1m",  # --- / +++
    "hunk": "\033[36m",  # @@
    "removed": "\033[31m",
    "added": "\033[32m",
}


def split_lines(text: str) -> list[str]:
    """Split on ``\\n`` only, keeping the endings (``\\r\\n`` stays whole; form feeds and other
    characters ``str.splitlines`` would split on stay inside their line)."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def unified_diff(before: str, after: str, path: str, context: int = 3) -> str:
    """A unified diff of one file, ``patch -p0`` applicable; empty when nothing differs."""
    if before == after:
        return ""
    import difflib  # here: a run without --diff never needs it (start-up time)

    out = []
    for line in difflib.unified_diff(
        split_lines(before),
        split_lines(after),
        fromfile=f"{path}\t(original)",
        tofile=f"{path}\t(converted)",
        n=context,
    ):
        if line.startswith(("---", "+++")) and not line.endswith("\n"):
            line += "\n"  # difflib leaves the header lines without their newline
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n" + _NO_NEWLINE)
    return "".join(out)


def encode_diff(diff: str, encoding: str) -> bytes:
    """One file's diff as ``patch`` needs it: the two header lines carry the path in the file
    system's encoding (undecodable names come back byte for byte), the hunks the file's own text
    encoding, so a latin-1 file's diff applies to the latin-1 file."""
    lines = split_lines(diff)
    body = "utf-8" if encoding == "utf-8-sig" else encoding  # the BOM is not a line's text
    return b"".join(os.fsencode(line) for line in lines[:2]) + "".join(lines[2:]).encode(body)


def colorize(diff: str) -> str:
    """ANSI colors for a terminal: headers bold, hunks cyan, removals red, additions green."""
    out = []
    for line in split_lines(diff):
        body = line.rstrip("\r\n")
        end = line[len(body) :]
        if line.startswith(("--- ", "+++ ")):
            style = _STYLES["header"]
        elif line.startswith("@@"):
            style = _STYLES["hunk"]
        elif line.startswith("-"):
            style = _STYLES["removed"]
        elif line.startswith("+"):
            style = _STYLES["added"]
        else:
            out.append(line)
            continue
        out.append(f"{style}{body}{_RESET}{end}")
    return "".join(out)
