"""Files the hooks write, and the script after training, written once: by the first process.

Under DDP every process runs every hook, so a `torch.save(...)`, `save_image(...)` or
`plt.savefig(...)` in a hook would write its file once per process (each with its own share's
values: the last one to write wins). The statement that writes runs on process 0 only, under
Lightning's own test for it (`if self.trainer.is_global_zero:`); on one process it always runs.
The script's code after `trainer.fit` runs in every process too (Lightning starts the others by
running the script again), so a file it writes there (`torch.save(model.state_dict(), path)`)
would be written by all of them at once: it goes under `if trainer.is_global_zero:`.
A write that names its process (its rank, the environment torchrun sets) is left to every
process: each writes a file of its own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.dataflow import statements_after
from converter.analysis.file_writes import writing_statements
from converter.analysis.index import SourceIndex
from converter.analysis.site import TrainingSite
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import fill


@dataclass
class RankZeroState:
    guarded: list[cst.BaseStatement] = field(default_factory=list)  # in the hooks
    after_training: list[cst.BaseStatement] = field(default_factory=list)  # in the script
    waited_for: list[cst.BaseStatement] = field(default_factory=list)  # the script goes on after


class RankZeroFiles(Pattern):
    name = "rank zero files"
    example = Example(
        shape="`torch.save(...)` (a file written) in the loop",
        becomes="written by process 0 only: `if self.trainer.is_global_zero:`",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
            torch.save(model.state_dict(), f"model_{epoch}.pt")
        """,
        after="""
            def on_train_epoch_end(self):
                if self.trainer.is_global_zero:
                    torch.save(self.model.state_dict(), f"model_{self.current_epoch}.pt")
        """,
    )
    State = RankZeroState

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        state = site.state(self)
        for item in site.all_moved():
            for statement in writing_statements(index, item.node):
                if any(s in state.guarded for s in index.ancestors(statement)):
                    continue
                state.guarded.append(statement)
                _guard(out, statement)
        trainer = cst.Name(out.trainer)
        for following in statements_after(index, site.outer_loop, set(site.test_region)):
            for statement in writing_statements(index, following):
                state.after_training.append(statement)
                waits = not _last_in_its_block(index, statement)
                if waits:
                    state.waited_for.append(statement)
                out.site_wrappers[statement] = functools.partial(_guarded_by, trainer, waits=waits)

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        for statement in state.guarded:
            report.change(
                "files", index.line(statement), "a file a hook writes: written by process 0 only"
            )
        for statement in state.after_training:
            report.change(
                "files",
                index.line(statement),
                "a file the script writes after training: written by process 0 only "
                "(every process runs the script's code after fit)"
                + ("; the others wait for it" if statement in state.waited_for else ""),
            )


def _guarded_by(trainer: cst.Name, statement: cst.BaseStatement, waits: bool):
    """`if trainer.is_global_zero:` around the statement; where the script goes on after it (and
    may read the file back: `model.load_state_dict(torch.load("net.pt"))`), the other processes
    wait at Lightning's barrier until process 0 has written it."""
    lines = statement.leading_lines
    guarded, *barrier = fill(
        "trainer_rank_zero_waits" if waits else "trainer_rank_zero",
        trainer=trainer,
        body=[statement.with_changes(leading_lines=[])],
    )
    guarded = guarded.with_changes(leading_lines=lines)
    return cst.FlattenSentinel([guarded, *barrier]) if barrier else guarded


def _last_in_its_block(index: SourceIndex, statement: cst.BaseStatement) -> bool:
    parent = index.parent(statement)
    body = getattr(parent, "body", None)
    return isinstance(body, (list, tuple)) and body[-1] is statement


def _guard(out: Emission, statement: cst.BaseStatement) -> None:
    earlier = out.replacements.get(statement)

    def change(updated):
        if earlier is not None:
            updated = earlier(updated)
        if not isinstance(updated, cst.BaseStatement):
            return updated  # removed or split by another pattern: left as it made it
        lines = updated.leading_lines
        (guarded,) = fill("rank_zero", body=[updated.with_changes(leading_lines=[])])
        return guarded.with_changes(leading_lines=lines)

    out.replacements[statement] = change


PATTERN = RankZeroFiles()
