"""Per-collection settings for ``coverage.py --config FILE`` (TOML, or JSON with the same shape).

How to run a collection's originals where they can run: script arguments, extra environment,
the folder they run in, and stand-in files (:mod:`standins`) for data the repository does not
ship. Nothing here edits a script; a script that needs a real download, a GPU or an absent
package still fails, and its reason is reported.

.. code-block:: toml

    [collection]                  # for the record (the tables name it)
    repository = "owner/name"
    commit = "40 hex digits"
    held_out = false              # true: the Markdown lists no file, only figures and reasons

    [defaults]                    # every file (all keys optional)
    workdir = "fresh"             # fresh | folder | tree
    args = []                     # after `verify ... --`; {run} = the run folder, {root} = PATH
    env = {}                      # added to the environment of both runs
    stand_ins = []                # names of [stand_ins.NAME] tables
    ignore_lines = []             # regexes: printed lines verify does not compare (timings)

    [[files]]                     # each table whose `match` (fnmatch globs on the path relative
    match = ["dir/*/train.py"]    # to PATH) fits a file adds to the defaults, in order: args and
    args = ["--epochs", "1"]      # workdir replace, env merges, stand_ins add
    stand_ins = ["flowers"]
    why = "free text, for the reader"

    [stand_ins.flowers]
    kind = "image_folder"
    paths = ["../../data_set/flower_data/train", "../../data_set/flower_data/val"]
    classes = ["daisy", "roses"]

``workdir``: ``fresh`` runs each script in a fresh folder of verify's own (then, if data files are
missing, once more in a copy of the script's folder); ``folder`` runs both scripts, one after the
other, in a copy of the script's folder; ``tree`` in the script's folder inside a copy of the
whole collection. Stand-in paths are relative to that run folder, so they need ``folder`` or
``tree`` (``fresh`` with stand-ins means ``folder``).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path

import standins

WORKDIRS = ("fresh", "folder", "tree")
_SETTING_KEYS = {"workdir", "args", "env", "stand_ins", "ignore_lines"}
_FILE_KEYS = _SETTING_KEYS | {"match", "why"}


class ConfigError(ValueError):
    """A configuration that cannot be used (one line: file, what is wrong)."""


@dataclass
class Settings:
    """How one file runs."""

    workdir: str = "fresh"
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    stand_ins: list[str] = field(default_factory=list)
    ignore_lines: list[str] = field(default_factory=list)  # verify --ignore-line
    rules: list[int] = field(default_factory=list)  # which [[files]] tables matched

    @property
    def prepared(self) -> bool:
        """True when the harness prepares the run folder (not verify's fresh folders)."""
        uses_run = any("{run}" in v for v in [*self.args, *self.env.values()])
        return self.workdir != "fresh" or bool(self.stand_ins) or uses_run

    def record(self) -> dict:
        """For --json: what was applied."""
        out: dict = {}
        if self.prepared:
            out["workdir"] = "folder" if self.workdir == "fresh" else self.workdir
        if self.args:
            out["args"] = self.args
        if self.env:
            out["env"] = self.env
        if self.stand_ins:
            out["stand_ins"] = self.stand_ins
        if self.ignore_lines:
            out["ignore_lines"] = self.ignore_lines
        return out


@dataclass
class Config:
    path: Path | None = None
    collection: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)
    files: list[dict] = field(default_factory=list)
    stand_ins: dict[str, dict] = field(default_factory=dict)

    @property
    def held_out(self) -> bool:
        return bool(self.collection.get("held_out"))

    def settings(self, rel: str) -> Settings:
        s = Settings()
        _apply(s, self.defaults)
        for i, rule in enumerate(self.files):
            if any(fnmatch.fnmatchcase(rel, g) for g in _globs(rule)):
                _apply(s, rule)
                s.rules.append(i)
        return s

    def unused_rules(self, rels: list[str]) -> list[int]:
        return [
            i
            for i, rule in enumerate(self.files)
            if not any(fnmatch.fnmatchcase(r, g) for r in rels for g in _globs(rule))
        ]


def _globs(rule: dict) -> list[str]:
    m = rule["match"]
    return [m] if isinstance(m, str) else list(m)


def _apply(s: Settings, table: dict) -> None:
    if "workdir" in table:
        s.workdir = table["workdir"]
    if "args" in table:
        s.args = [str(a) for a in table["args"]]
    s.env.update({str(k): str(v) for k, v in table.get("env", {}).items()})
    s.stand_ins += [n for n in table.get("stand_ins", []) if n not in s.stand_ins]
    s.ignore_lines += [str(r) for r in table.get("ignore_lines", []) if r not in s.ignore_lines]


def load(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        if path.suffix == ".json":
            doc = json.loads(text)
        else:
            import tomllib

            doc = tomllib.loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError and json.JSONDecodeError both are
        raise ConfigError(f"{path}: not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}") from None
    cfg = Config(
        path=path,
        collection=doc.get("collection", {}),
        defaults=doc.get("defaults", {}),
        files=doc.get("files", []),
        stand_ins=doc.get("stand_ins", {}),
    )
    unknown = set(doc) - {"collection", "defaults", "files", "stand_ins"}
    if unknown:
        raise ConfigError(f"{path}: unknown table(s): {', '.join(sorted(unknown))}")
    _check_settings(path, "[defaults]", cfg.defaults, _SETTING_KEYS, cfg.stand_ins)
    for i, rule in enumerate(cfg.files):
        where = f"[[files]] #{i + 1}"
        if "match" not in rule:
            raise ConfigError(f"{path}: {where}: needs `match` (a glob or a list of globs)")
        _check_settings(path, where, rule, _FILE_KEYS, cfg.stand_ins)
    for name, spec in cfg.stand_ins.items():
        try:
            standins.check(name, spec)
        except standins.StandInError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return cfg


def _check_settings(path: Path, where: str, table: dict, keys: set, known: dict) -> None:
    unknown = set(table) - keys
    if unknown:
        raise ConfigError(f"{path}: {where}: unknown key(s): {', '.join(sorted(unknown))}")
    if table.get("workdir", "fresh") not in WORKDIRS:
        raise ConfigError(f"{path}: {where}: `workdir` must be one of {', '.join(WORKDIRS)}")
    if not isinstance(table.get("args", []), list):
        raise ConfigError(f"{path}: {where}: `args` must be a list of strings")
    if not isinstance(table.get("env", {}), dict):
        raise ConfigError(f"{path}: {where}: `env` must be a table")
    for name in table.get("stand_ins", []):
        if name not in known:
            raise ConfigError(f"{path}: {where}: no [stand_ins.{name}] table")


def expand(value: str, run: Path | None, root: Path) -> str:
    """``{run}`` and ``{root}`` in an argument or environment value."""
    value = value.replace("{root}", str(root))
    if run is not None:
        value = value.replace("{run}", str(run))
    return value
