"""What an evaluation logs: the means it computes and prints, under names that say what they are.

Lightning's loggers, its callbacks (`ModelCheckpoint(monitor=...)`, `EarlyStopping`) and what
`trainer.validate`/`trainer.test` return see only what `self.log` was given. An evaluation whose
sums are totals over the processes (metrics.py) logs, in its epoch-end hook, what it derives from
them by a division (a mean, a rate), never a raw sum (it grows with the data, and no line prints
it as a metric):

- a name the hook sets so (`val_loss = total / len(loader.dataset)`, `test_loss /= len(...)`):
  at the hook's end, under that name;
- a value a print of the hook computes so (`print(f"Accuracy: {100. * correct / n:.0f}%")`):
  right after the print, under the metric its label names (loss, accuracy...: "Accuracy"),
  else under the label's words or the sum's name.

Every name carries the stage's prefix, `val_` or `test_` (`test_loss` of a validation is logged as
`val_loss`), with `sync_dist=True` (the values are the same on every process already).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex
from converter.analysis.labels import METRIC_WORDS, shown_values
from converter.analysis.names import READ, name_events, names_written
from converter.analysis.site import StageName, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.targets.trainer.patterns.metrics import END_HOOKS, is_print
from converter.targets.trainer.patterns.metrics import PATTERN as METRICS
from converter.templating import expr

_PREFIX = {StageName.VALIDATION: "val", StageName.TEST: "test"}
_STAGE_WORDS = {"val", "valid", "validation", "test", "eval", "evaluation", "dev"}
_DIVISION = m.BinaryOperation(operator=m.Divide() | m.FloorDivide())
_PURE_CALLS = frozenset("len float int round abs min max".split())
_LOGGED = re.compile(r'self\.log\("(\w+)"')


@dataclass
class LoggedState:
    logged: dict[StageName, list[str]] = field(default_factory=dict)


class LoggedMetrics(Pattern):
    name = "logged metrics"
    example = Example(
        shape="an evaluation's mean (`val_loss = total / len(...)`)",
        becomes='`self.log("val_loss", val_loss, sync_dist=True)`',
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)), batch_size=4)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
            total = 0.0
            with torch.no_grad():
                for x, y in val_loader:
                    total += nn.functional.mse_loss(model(x), y, reduction="sum").item()
            val_loss = total / len(val_loader.dataset)
            print(f"val loss {val_loss:.4f}")
        """,
        after="""
            def on_validation_epoch_end(self):
                if self.trainer.world_size > 1:  # the totals over all processes' batches
                    self.total = self.all_gather(self.total).sum().item()
                val_loss = self.total / len(self.trainer.val_dataloaders.dataset)
                self.log("val_loss", val_loss, sync_dist=True)
        """,
    )
    State = LoggedState

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        reduced = site.state(METRICS).sums
        for stage_name, hook in END_HOOKS.items():
            sums = reduced.get(stage_name)
            if sums is None:
                continue
            taken = {  # logged by another pattern (what ReduceLROnPlateau monitors)
                found.group(1)
                for statement in out.hook_closings.get(hook, [])
                if (found := _LOGGED.match(cst.Module([]).code_for_node(statement)))
            }
            logged = _Logged(index, stage_name, sums, taken)
            for item in site.stages[stage_name].end:
                logged.follow(item.node, out)
            closings = [
                cst.parse_statement(
                    f'self.log("{key}", {_at_hook(flow, item_name)}, sync_dist=True)'
                )
                for key, item_name in logged.means()
            ]
            out.hook_closings.setdefault(hook, []).extend(closings)
            if logged.keys:
                site.state(self).logged[stage_name] = logged.keys

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        for stage_name, keys in site.state(self).logged.items():
            listed = ", ".join(f"`{k}`" for k in keys)
            report.change(
                "metrics",
                index.line(site.stages[stage_name].loop),
                f"{stage_name.value} logs {listed}: the means it prints",
            )


class _Logged:
    """Follows an epoch-end hook's statements: which names hold values derived from the sums,
    which of those by a division, and the printed values to log."""

    def __init__(self, index: SourceIndex, stage: StageName, sums, taken: set[str]) -> None:
        self.index, self.stage = index, stage
        self.sums = list(sums.names)
        self.scalar = set(sums.numbers)  # names known to hold one number
        self.derived: set[str] = set(sums.names)
        # a mean -> the sum it is of, in the order set (a sum of per-batch means is one)
        self.assigned: dict[str, str] = {n: n for n in sums.names if n in sums.means & self.scalar}
        self.keys: list[str] = []
        self.taken = set(taken)

    def follow(self, statement: cst.BaseStatement, out: Emission) -> None:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            for name in names_written(self.index, [statement]):  # set under a condition
                self.assigned.pop(name, None)
                self.derived.discard(name)
            return
        small = statement.body[0]
        if isinstance(small, cst.Assign):
            for target, value in _pairs(small):
                self._set(target, value)
        elif isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
            name = small.target.value
            if name in self.derived and isinstance(small.operator, cst.DivideAssign):
                self._mark(name, small.value, self._scalar(small.value) and name in self.scalar)
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            if is_print(self.index, small.value):
                self._printed(statement, small.value, out)

    def _set(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        names = [n.value for n in find(target, cst.Name)] if target is not None else []
        if not isinstance(target, cst.Name):
            for name in names:
                self.assigned.pop(name, None)
                self.derived.discard(name)
            return
        name = target.value
        self.assigned.pop(name, None)
        if self._reads_derived(value):
            self.derived.add(name)
            if self._scalar(value):
                self.scalar.add(name)
            if find(value, cst.BinaryOperation, _DIVISION) or self._reads_mean(value):
                self._mark(name, value, name in self.scalar)
        else:
            self.derived.discard(name)

    def _mark(self, name: str, value, scalar: bool) -> None:
        if scalar:
            read = self._read(value) | {name}
            of = [self.assigned.get(n, n) for n in read if n in self.derived]
            self.assigned[name] = next((n for n in self.sums if n in of), name)

    def _reads_derived(self, value) -> bool:
        return bool(self._read(value) & self.derived)

    def _reads_mean(self, value) -> bool:
        return bool(self._read(value) & set(self.assigned))

    def _read(self, value) -> set[str]:
        return {e.node.value for e in name_events(self.index, [value]) if e.kind == READ}

    def _scalar(self, value) -> bool:
        """Every name it reads holds one number, and it calls nothing but plain builtins."""
        known = self.scalar | self._loaders(value) | _PURE_CALLS
        return self._read(value) <= known and _pure(self.index, value)

    def _loaders(self, value) -> set[str]:
        """Names it reads only for their length (`len(loader)`, `len(loader.dataset)`)."""
        found = set()
        for call in find(value, cst.Call):
            if m.matches(call.func, m.Name("len")) and call.args:
                found |= self._read(call.args[0].value)
        return found

    def _printed(self, statement, call: cst.Call, out: Emission) -> None:
        logs = []
        for shown in shown_values(call):
            value = shown.value
            if isinstance(value, cst.Name) or not self._reads_derived(value):
                continue
            if not find(value, cst.BinaryOperation, _DIVISION) or not self._scalar(value):
                continue
            read = self._read(value)
            fallback = next((n for n in self.sums if n in read), None)
            key = self._key(_metric_name(shown.words), _words_name(shown.words), fallback)
            if key is not None:
                logs.append((key, value))
        if logs:
            _log_after(out, statement, logs)

    def means(self) -> list[tuple[str, str]]:
        found = []
        for name, of in self.assigned.items():
            key = self._key(name, of)
            if key is not None:
                found.append((key, name))
        return found

    def _key(self, *candidates: str | None) -> str | None:
        for candidate in candidates:
            if candidate is None:
                continue
            words = [w for w in re.split(r"[^a-z0-9]+", candidate.lower()) if w]
            while words and words[0] in _STAGE_WORDS:
                words = words[1:]
            if not words:
                continue
            key = "_".join([_PREFIX[self.stage], *words])
            if key not in self.taken:
                self.taken.add(key)
                self.keys.append(key)
                return key
        return None


def _metric_name(words: tuple[str, ...]) -> str | None:
    found = [w for w in words if w in METRIC_WORDS]
    return found[-1] if found else None


def _words_name(words: tuple[str, ...]) -> str | None:
    return "_".join(words) if 0 < len(words) <= 3 else None


def _pairs(assign: cst.Assign):
    """(target, value) of `a = x` and `a, b = x, y` (None for a value it cannot pair)."""
    for target in assign.targets:
        target, value = target.target, assign.value
        if isinstance(target, cst.Tuple) and isinstance(value, cst.Tuple):
            if len(target.elements) == len(value.elements):
                for t, v in zip(target.elements, value.elements):
                    yield t.value, v.value
                continue
        yield target, value


def _pure(index: SourceIndex, value: cst.BaseExpression) -> bool:
    """Evaluating it again changes nothing: only plain builtins and `.item()` are called."""
    for call in find(value, cst.Call):
        func = call.func
        if isinstance(func, cst.Name) and func.value in _PURE_CALLS:
            if index.resolves_to(func, f"builtins.{func.value}"):
                continue
        if isinstance(func, cst.Attribute) and func.attr.value == "item" and not call.args:
            continue
        return False
    return True


def _at_hook(flow, name: str) -> str:
    return f"self.{flow.attr(name)}" if name in flow.attributes else name


def _log_after(out: Emission, statement: cst.BaseStatement, logs) -> None:
    """`self.log(key, value, sync_dist=True)` after the print, for each value as the hook
    writes it (with the names and lengths the rewrite gave it)."""
    written: dict[int, cst.BaseExpression] = {}
    for position, (_, value) in enumerate(logs):
        earlier = out.replacements.get(value)

        def remember(updated, position=position, earlier=earlier):
            if earlier is not None:
                updated = earlier(updated)
            written[position] = updated
            return updated

        out.replacements[value] = remember
    earlier = out.replacements.get(statement)

    def change(updated):
        if earlier is not None:
            updated = earlier(updated)
        rest = list(updated.nodes) if isinstance(updated, cst.FlattenSentinel) else [updated]
        added = [_log_statement(key, written[i]) for i, (key, _) in enumerate(logs)]
        return cst.FlattenSentinel([*rest, *added])

    out.replacements[statement] = change


def _log_statement(key: str, value: cst.BaseExpression) -> cst.SimpleStatementLine:
    call = expr(f'self.log("{key}", VALUE, sync_dist=True)')
    value = value.with_changes(lpar=[], rpar=[]) if hasattr(value, "lpar") else value
    args = [call.args[0], call.args[1].with_changes(value=value), call.args[2]]
    return cst.SimpleStatementLine([cst.Expr(call.with_changes(args=args))])


PATTERN = LoggedMetrics()
