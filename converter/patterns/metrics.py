"""What the script prints and counts, right on any number of processes.

- `print(...)` in a hook becomes `self.print(...)`: printed once (by process 0) and without
  tearing Lightning's progress bar. On one process the line is the same.
- An evaluation's accumulators (`correct += ...`, `test_loss += ...` in validation_step or
  test_step) are summed over all processes at the start of the epoch-end hook, and counts of the
  process's own batches (`len(val_loader)`) there become totals, so that what the epoch-end code
  computes and prints is what one process over all the data would have: on one process nothing
  changes. (Lightning's DistributedSampler pads an evaluation set that does not divide evenly
  across processes with repeated samples; the sums then count those twice.)
- Those accumulators are then logged with `self.log`, so that loggers, callbacks
  (`ModelCheckpoint(monitor=...)`, `EarlyStopping`) and `trainer.validate/test` see them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex
from converter.analysis.site import Hook, StageName, TrainingSite
from converter.analysis.walk import find
from converter.patterns.base import Emission, Example, Pattern
from converter.templating import expr, fill

_PRINT_KEYWORDS = {"sep", "end", "file"}  # what Lightning's progress bar can print with
_END_HOOKS = {
    StageName.VALIDATION: Hook.ON_VALIDATION_EPOCH_END,
    StageName.TEST: Hook.ON_TEST_EPOCH_END,
}
_NUMBER = m.Integer() | m.Float() | m.UnaryOperation(expression=m.Integer() | m.Float())


@dataclass
class MetricsState:
    accumulators: dict[StageName, list[str]] = field(default_factory=dict)


class EvaluationMetrics(Pattern):
    name = "metrics"
    example = Example(
        shape="`print(...)` and evaluation sums (`val_loss += ...`)",
        becomes="`self.print(...)`; the sums reduced over processes and logged",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)))
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
            val_loss = 0.0
            with torch.no_grad():
                for x, y in val_loader:
                    val_loss += nn.functional.mse_loss(model(x), y).item()
            print(f"epoch {epoch}: {val_loss:.4f}")
        """,
        after="""
            def on_validation_epoch_end(self):
                # the totals over all processes
                self.val_loss = self._sum_over_processes(self.val_loss)
                self.print(f"epoch {self.current_epoch}: {self.val_loss:.4f}")
                self.log("val_loss", self.val_loss, sync_dist=True)
        """,
    )
    State = MetricsState

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        for item in site.all_moved():
            for call in find(item.node, cst.Call):
                if _is_print(index, call):
                    out.replacements[call] = lambda u: u.with_changes(func=expr("self.print"))
        state = site.state(self)
        for stage_name in _END_HOOKS:
            stage = site.stages.get(stage_name)
            if stage is None:
                continue
            found = [
                target.value
                for item in stage.step
                for target in _sums(item.node)
                if target.value in flow.attributes
            ]
            if found:
                state.accumulators[stage_name] = list(dict.fromkeys(found))
        numbers = _numeric(site, flow)
        for stage_name, names in state.accumulators.items():
            hook = _END_HOOKS[stage_name]
            stage = site.stages[stage_name]
            opening = [
                cst.parse_statement(f"self.{n} = self._sum_over_processes(self.{n})") for n in names
            ]
            opening[0] = opening[0].with_changes(
                leading_lines=[
                    cst.EmptyLine(comment=cst.Comment("# the totals over all processes"))
                ]
            )
            out.hook_openings.setdefault(hook, [])[:0] = opening
            already = {  # logged by another pattern (what ReduceLROnPlateau monitors)
                m.group(1)
                for statement in out.hook_closings.get(hook, [])
                if (m := _LOGGED.match(cst.Module([]).code_for_node(statement)))
            }
            logged = [n for n in names if n in numbers and n not in already]
            out.hook_closings.setdefault(hook, []).extend(
                cst.parse_statement(f'self.log("{n}", self.{flow.attr(n)}, sync_dist=True)')
                for n in logged
            )
            loader = stage.loader.value
            for item in stage.end:
                for call in find(item.node, cst.Call, _LEN):
                    if item.origin.site_name(call.args[0].value) == loader:
                        out.replacements[call] = lambda u: expr(
                            f"self._sum_over_processes({cst.Module([]).code_for_node(u)})"
                        )
        if state.accumulators:
            out.methods += fill("sum_over_processes")
            out.imports.add("torch")

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        for stage_name, names in site.state(self).accumulators.items():
            stage = site.stages[stage_name]
            listed = ", ".join(f"`{n}`" for n in names)
            report.change(
                "metrics",
                index.line(stage.loop),
                f"{stage_name.value} totals {listed} summed over processes and logged",
            )


def _sums(statement: cst.CSTNode) -> list[cst.Name]:
    """`name += ...` anywhere in the statement."""
    return [
        node.target
        for node in find(statement, cst.AugAssign)
        if isinstance(node.operator, cst.AddAssign) and isinstance(node.target, cst.Name)
    ]


def _numeric(site: TrainingSite, flow) -> set[str]:
    """Shared names first set to a number (`correct = 0`): safe to log."""
    found = {name for name, value in flow.fit_start if m.matches(value, _NUMBER)}
    for stage in site.stages.values():
        for item in stage.start:
            for assign in find(item.node, cst.Assign):
                if m.matches(assign.value, _NUMBER):
                    found |= {
                        t.target.value for t in assign.targets if m.matches(t.target, m.Name())
                    }
    return found


def _is_print(index: SourceIndex, call: cst.Call) -> bool:
    return (
        m.matches(call.func, m.Name("print"))
        and index.resolves_to(call.func, "builtins.print")
        and all(a.keyword is None or a.keyword.value in _PRINT_KEYWORDS for a in call.args)
        and not any(a.star for a in call.args)
    )


_LOGGED = re.compile(r'self\.log\("(\w+)"')
_LEN = m.Call(func=m.Name("len"), args=[m.Arg(m.Name())])


PATTERN = EvaluationMetrics()
