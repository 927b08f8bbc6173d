"""What the script prints and adds up, right on any number of processes.

- `print(...)` in a hook becomes `self.print(...)`: printed once (by process 0) and without
  tearing Lightning's progress bar. On one process the line is the same.
- A sum the batches build (`correct += ...` in validation_step, `running_loss += ...` in
  training_step), set anew each epoch (or a single pass's) and read once the batches are done
  (or after fit), holds on each process
  the sum over that process's share of the batches (Lightning's DistributedSampler). It becomes
  the total over all processes (`self.all_gather`) right before the code that reads it after the
  batches: the epoch-end hook of an evaluation, the training epoch's wrap-up. There, and in the
  sums' own increments (`loss.item() / len(val_loader)`), the loader's length (its batches on
  this process) becomes the batches of all processes, `len(...) * self.trainer.world_size`: every
  process has as many. So what the code then computes and prints is what one process over all
  the data would have; on one process nothing runs (not even a change of type).
- Not exact: an evaluation set that does not divide evenly among the processes. Lightning's
  DistributedSampler repeats up to (processes - 1) of its first samples to even the shares out,
  and the sums count them (`Accuracy: 256/255`); the report says so.
- A sum whose reader divides by a batch index (`running_loss / (i + 1)`: this process's count)
  stays the process's own: summing it alone would double the mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import assigned_value
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_read, names_written
from converter.analysis.site import Hook, Moved, StageName, TrainingSite
from converter.analysis.sums import UNEVEN, holds_number, increments, only_added_to, summed_names
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import expr, fill

_PRINT_KEYWORDS = {"sep", "end", "file"}  # what Lightning's progress bar can print with
END_HOOKS = {
    StageName.VALIDATION: Hook.ON_VALIDATION_EPOCH_END,
    StageName.TEST: Hook.ON_TEST_EPOCH_END,
}
_LEN = m.Call(func=m.Name("len"), args=[m.Arg(m.Name())])
_STAGE = {StageName.TRAIN: "training", StageName.VALIDATION: "validation", StageName.TEST: "test"}
# Parents under which `len(...) * world_size` needs parentheses.
_TIGHT = (cst.BinaryOperation, cst.UnaryOperation, cst.Attribute, cst.Subscript, cst.Comparison)


@dataclass
class Sums:
    names: list[str]  # the script's names, in the order the batches add to them
    numbers: set[str]  # those that hold a Python number
    means: set[str] = field(default_factory=set)  # added per-batch means: `x / len(loader)`


@dataclass
class MetricsState:
    sums: dict[StageName, Sums] = field(default_factory=dict)  # reduced over processes
    per_process: dict[StageName, str] = field(default_factory=dict)  # left alone, and why


class EvaluationMetrics(Pattern):
    name = "metrics"
    example = Example(
        shape="`print(...)` and evaluation sums (`val_loss += ...`)",
        becomes="`self.print(...)`; the sums reduced over processes",
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
                if self.trainer.world_size > 1:  # the totals over all processes' batches
                    self.val_loss = self.all_gather(self.val_loss).sum().item()
                self.print(f"epoch {self.current_epoch}: {self.val_loss:.4f}")
        """,
    )
    State = MetricsState

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        for item in site.all_moved():
            for call in find(item.node, cst.Call):
                if is_print(index, call):
                    out.replacements[call] = lambda u: u.with_changes(func=expr("self.print"))
        state = site.state(self)
        for name in StageName:
            if name in site.stages:
                self._reduce(site, index, flow, out, name, state)

    def _reduce(self, site, index, flow, out: Emission, stage_name, state) -> None:
        stage = site.stages[stage_name]
        steps, starts, after, during = _parts(site, stage_name)
        names = _sums_of(site, index, flow, steps, starts)
        if not names:
            return
        why = _left_per_process(index, stage, names, after, during, _renewed(site, stage_name))
        if why is not None:
            state.per_process[stage_name] = why
            return
        step_nodes = [item.node for item in steps]
        numbers = {
            n
            for n in names
            if holds_number(
                index,
                n,
                increments(step_nodes, n),
                _starting_values(starts, n) + _fit_start(flow, n),
            )
        }
        loader = stage.loader.value
        means = {
            n
            for n in names
            if all(
                _per_batch_mean(aug.value, item, loader)
                for item in steps
                for aug in increments([item.node], n)
            )
        }
        state.sums[stage_name] = Sums(names, numbers, means)
        block = fill(
            "sum_over_processes",
            sums=[
                fill(
                    "number_over_processes" if n in numbers else "tensor_over_processes",
                    total=expr(f"self.{flow.attr(n)}"),
                )[0]
                for n in names
            ],
        )
        read_after = [item for item in after if names_read(index, [item.node]) & set(names)]
        if stage_name in END_HOOKS:
            out.hook_openings.setdefault(END_HOOKS[stage_name], [])[:0] = block
        elif read_after:  # right before the training epoch's wrap-up reads them
            _insert_before(out, read_after[0].node, block)
        else:  # read only after fit
            out.hook_openings.setdefault(Hook.ON_TRAIN_EPOCH_END, [])[:0] = block
        counted = [(aug, item) for item in steps for aug in _increments_of(item, names)]
        counted += [(item.node, item) for item in after]
        for node, item in counted:
            for call in find(node, cst.Call, _LEN):
                if item.origin.site_name(call.args[0].value) == loader:
                    out.replacements[call] = _all_batches(index.parent(call))

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        for stage_name, sums in state.sums.items():
            stage = site.stages[stage_name]
            listed = ", ".join(f"`{n}`" for n in sums.names)
            report.change(
                "metrics",
                index.line(stage.loop),
                f"{_STAGE[stage_name]} totals {listed} summed over processes{UNEVEN}",
            )
        for stage_name, why in state.per_process.items():
            report.change(
                "metrics",
                index.line(site.stages[stage_name].loop),
                f"{_STAGE[stage_name]} sums kept per process: {why}",
            )


def _parts(site: TrainingSite, stage_name: StageName):
    """(the stage's batch code, what sets its sums anew each epoch, the code after its batches
    that may read them, the code in between that must not) as moved statements."""
    stage = site.stages[stage_name]
    if stage_name is not StageName.TRAIN:
        own_start = [item for item in stage.start if item not in site.before_validation]
        return stage.step, own_start, stage.end, []
    validation = site.stages.get(StageName.VALIDATION)
    after, during = list(site.before_validation), []
    if validation is not None:
        after += [item for item in validation.start if item not in site.before_validation]
        during = validation.step
        after += validation.end
    after += stage.end + stage.after_lr_step
    # the epoch's wrap-up rides in on_train_batch_end too, guarded to run after the last batch
    batch_end = [item for item in stage.batch_end if item not in site.before_validation]
    return stage.step + batch_end, stage.start, after, during


def _renewed(site: TrainingSite, stage_name: StageName) -> set[str]:
    """While training: what the validation's start sets to a new value, unconditionally,
    before its batches read it."""
    validation = site.stages.get(StageName.VALIDATION)
    if stage_name is not StageName.TRAIN or validation is None:
        return set()
    renewed = set()
    for item in validation.start:
        if item in site.before_validation or not isinstance(item.node, cst.SimpleStatementLine):
            continue
        for small in item.node.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                if isinstance(target, cst.Name):
                    renewed.add(target.value)
    return renewed


def _sums_of(site, index, flow, steps: list[Moved], starts: list[Moved]) -> list[str]:
    """Names the batches only add to (`x += ...`), kept on the module, set anew each epoch."""
    step_nodes = [item.node for item in steps]
    fresh = names_written(index, [item.node for item in starts])
    if site.epoch is None or site.epoch.loop is None:  # one pass: each sum is added up once
        fresh |= set(flow.attributes)
    return [
        n
        for n in summed_names(step_nodes)
        if n in flow.attributes and n in fresh and only_added_to(index, step_nodes, n)
    ]


def _left_per_process(index, stage, names, after, during, renewed=()) -> str | None:
    """Why the sums stay each process's own, if they do. A name the validation sets anew before
    its batches (`total = 0.0` in both `train()` and `test()`) is the validation's own there."""
    if names_read(index, [item.node for item in during]) & (set(names) - set(renewed)):
        return "read while validating, batch by batch"
    counter = stage.index_name
    readers = [item.node for item in after if names_read(index, [item.node]) & set(names)]
    if counter and counter in names_read(index, readers):
        return f"divided by the batch index `{counter}`, this process's own count of batches"
    return None


def _starting_values(starts: list[Moved], name: str) -> list[cst.BaseExpression]:
    found = []
    for item in starts:
        for statement in find(item.node, cst.SimpleStatementLine):
            value = assigned_value(statement, name)
            if value is not None:
                found.append(value)
    return found


def _fit_start(flow, name: str) -> list[cst.BaseExpression]:
    return [value for n, value in flow.fit_start if n == name]


def _per_batch_mean(value: cst.BaseExpression, item: Moved, loader: str) -> bool:
    """`loss.item() / len(loader)`: one batch's share of the mean over the batches."""
    return any(
        m.matches(division.right, _LEN)
        and item.origin.site_name(division.right.args[0].value) == loader
        for division in find(value, cst.BinaryOperation, m.BinaryOperation(operator=m.Divide()))
    )


def _increments_of(item: Moved, names: list[str]) -> list[cst.AugAssign]:
    return [aug for n in names for aug in increments([item.node], n)]


def _all_batches(parent):
    """`len(loader)` (this process's batches) -> the batches of all processes."""

    def change(updated: cst.BaseExpression) -> cst.BaseExpression:
        total = cst.BinaryOperation(updated, cst.Multiply(), expr("self.trainer.world_size"))
        if isinstance(parent, _TIGHT):
            total = total.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return total

    return change


def _insert_before(out: Emission, statement: cst.BaseStatement, block) -> None:
    """`block` right before `statement` wherever it is emitted (after another pattern's own
    rewrite of it)."""
    earlier = out.replacements.get(statement)

    def change(updated):
        if earlier is not None:
            updated = earlier(updated)
        if isinstance(updated, cst.RemovalSentinel):
            return cst.FlattenSentinel(block)
        rest = list(updated.nodes) if isinstance(updated, cst.FlattenSentinel) else [updated]
        lines = list(rest[0].leading_lines)  # the statement's blank lines and comments go first
        first = block[0].with_changes(leading_lines=[*lines, *block[0].leading_lines])
        rest[0] = rest[0].with_changes(leading_lines=[])
        return cst.FlattenSentinel([first, *block[1:], *rest])

    out.replacements[statement] = change


def is_print(index: SourceIndex, call: cst.Call) -> bool:
    return (
        m.matches(call.func, m.Name("print"))
        and index.resolves_to(call.func, "builtins.print")
        and all(a.keyword is None or a.keyword.value in _PRINT_KEYWORDS for a in call.args)
        and not any(a.star for a in call.args)
    )


PATTERN = EvaluationMetrics()
