"""A `break` that ends every epoch's batch loop after a fixed number of batches:
`Trainer(limit_train_batches=n)`, which trains on the same first n batches of each epoch and then
validates as usual.

Two shapes, with conditions that cannot change while the loop runs (no calls, nothing the loop
sets: `args.dry_run`, `max_batches`) besides the batch index:

- the loop's last statement, `if <cond>: break`, possibly inside other `if`s at the end of the
  loop (pytorch/examples' `if batch_idx % args.log_interval == 0: print(...); if args.dry_run:
  break`): the batch that breaks was trained, so n is one more than its index. An index test
  `i % k == 0` holds on the first batch; `i == K` / `i >= K` / `i > K` name the last one.
- the loop's first statement, `if i >= K: break` (or `i == K`): the batch that breaks is not
  trained, so n is K.

`limit_train_batches=n if dry_run else 1.0` keeps the whole epoch when the flag is off. The
report names the limit; `len(train_loader)` inside the hooks stays the loader's length (Lightning's
`num_training_batches` would be the limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import code
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_read, names_written
from converter.analysis.site import Declined, Origin, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern, TrainerOption
from converter.templating import expr

_BREAK_ONLY = m.SimpleStatementLine(body=[m.Break()])


@dataclass
class BatchLimitState:
    limit: TrainerOption | None = None
    removed: list[cst.CSTNode] = field(default_factory=list)  # inside a moved statement
    line: int = 0


class BatchLimit(Pattern):
    name = "batch-limit"
    example = Example(
        shape="`if i == 3: break` (or `if args.dry_run: break`) ending every epoch's batches",
        becomes="`Trainer(limit_train_batches=4)`",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            for i, (x, y) in enumerate(loader):
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
                if i == 3:
                    break
        """,
        after="""
        trainer = pl.Trainer(max_epochs=3, limit_train_batches=4)
        """,
    )
    State = BatchLimitState

    def reshape(self, site: TrainingSite, index: SourceIndex) -> None:
        train = site.train
        if not train.step or train.index_start is not None:
            return
        variant = _variant_names(index, site)
        found = _at_the_end(index, site, variant) or _at_the_start(index, site, variant)
        if found is None:
            return
        (batches, conditions), statement, top = found
        limit = cst.Integer(str(batches)) if isinstance(batches, int) else batches
        if conditions:
            joined = " and ".join(code(c) for c in conditions)
            limit = expr(f"{code(limit)} if {joined} else 1.0")
        state = site.state(self)
        state.limit = TrainerOption(limit, train.step[0].origin)
        state.line = index.line(statement)
        site.exits.update(find(statement, cst.Break))
        if statement is top.node:
            train.step.remove(top)
        else:
            state.removed.append(statement)

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        if site.state(self).limit is None:
            return
        loader = site.train.loader.value
        for item in site.setup:
            if loader in names_read(index, [item.node]):
                raise Declined(
                    index.line(item.node),
                    "configure_optimizers reads the train loader (its length?) while the "
                    "batch loop breaks early: Lightning would count the limited epoch",
                )

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        state = site.state(self)
        if state.limit is None:
            return
        out.trainer_options["limit_train_batches"] = state.limit
        for node in state.removed:
            out.replacements[node] = lambda _updated: cst.RemovalSentinel.REMOVE
        # len(train_loader) is the loader's length, not the limit Lightning would count.
        loader = site.train.loader.value
        for item in _stage_code(site):
            for call in find(item.node, cst.Call, _LEN):
                if item.origin.site_name(call.args[0].value) == loader:
                    out.replacements[call] = lambda _u: expr("len(self.trainer.train_dataloader)")

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        if state.limit is not None:
            report.change(
                "loop",
                state.line,
                f"break after a fixed number of batches -> limit_train_batches="
                f"{code(state.limit.value)}",
            )


_LEN = m.Call(func=m.Name("len"), args=[m.Arg(m.Name())])


def _stage_code(site: TrainingSite):
    return [
        item for stage in site.stages.values() for moved in stage.hooks().values() for item in moved
    ]


def _variant_names(index: SourceIndex, site: TrainingSite) -> set[str]:
    """Names the loop code sets: a condition reading one may change from batch to batch."""
    nodes = [item.node for item in site.all_moved()]
    variant = names_written(index, nodes)
    variant |= {n.value for n in find(site.train.batch_target, cst.Name)}
    return variant


def _at_the_end(index, site, variant):
    """`... if c1: (...; if c2: break)` as the loop's last statement."""
    top = site.train.step[-1]
    statement, conditions = top.node, []
    while isinstance(statement, cst.If) and statement.orelse is None:
        conditions.append(statement.test)
        block = statement.body.body
        if len(block) == 1 and m.matches(block[0], _BREAK_ONLY):
            limit = _limit(site, top.origin, conditions, variant, trained=True)
            if limit is None:
                return None
            return limit, _removable(index, site, statement), top
        statement = block[-1]
    return None


def _at_the_start(index, site, variant):
    """`if i >= K: break` as the loop's first statement."""
    top = site.train.step[0]
    statement = top.node
    if (
        isinstance(statement, cst.If)
        and statement.orelse is None
        and len(statement.body.body) == 1
        and m.matches(statement.body.body[0], _BREAK_ONLY)
    ):
        limit = _limit(site, top.origin, [statement.test], variant, trained=False)
        if limit is not None and limit[0] != 0:
            return limit, statement, top
    return None


def _removable(index: SourceIndex, site: TrainingSite, statement: cst.If) -> cst.CSTNode:
    """The statement to drop: `if c: break`, or the `if` around it when nothing else is left."""
    while True:
        parent = index.parent(index.parent(statement))  # If <- IndentedBlock <- If
        if isinstance(parent, cst.If) and len(parent.body.body) == 1:
            statement = parent
        else:
            return statement


def _limit(site, origin: Origin, conditions, variant, trained: bool):
    """(batches, the loop-invariant conditions) or None when the break is not a fixed limit."""
    index_name = site.train.index_name
    invariant, stop = [], None
    first_batch = False
    for condition in conditions:
        if _is_invariant(condition, variant, index_name):
            invariant.append(condition)
            continue
        if index_name is None:
            return None
        if _every_k(condition, index_name):
            first_batch = True
            continue
        threshold = _threshold(condition, index_name, variant)
        if threshold is None or stop is not None:
            return None
        stop = threshold
    if stop is not None and first_batch:
        return None  # the first batch past K that is a multiple of k: not a fixed count
    if stop is None:
        return (1, invariant) if trained else None
    value, extra = stop
    batches = extra + (1 if trained else 0)
    if isinstance(value, cst.Integer):
        return int(value.value) + batches, invariant
    return (expr(f"{code(value)} + {batches}") if batches else value), invariant


def _is_invariant(condition, variant: set[str], index_name: str | None) -> bool:
    if find(condition, (cst.Call, cst.Await, cst.Yield, cst.NamedExpr)):
        return False
    attributes = {id(a.attr) for a in find(condition, cst.Attribute)}
    names = {n.value for n in find(condition, cst.Name) if id(n) not in attributes}
    return not names & (variant | {index_name})


def _every_k(condition, index_name: str) -> bool:
    """`i % k == 0`: true on the first batch."""
    return m.matches(
        condition,
        m.Comparison(
            left=m.BinaryOperation(left=m.Name(index_name), operator=m.Modulo()),
            comparisons=[m.ComparisonTarget(m.Equal(), m.Integer("0"))],
        ),
    )


def _threshold(condition, index_name: str, variant: set[str]):
    """`i == K` / `i >= K` -> (K, 0); `i > K` -> (K, 1)."""
    if not (
        isinstance(condition, cst.Comparison)
        and m.matches(condition.left, m.Name(index_name))
        and len(condition.comparisons) == 1
    ):
        return None
    target = condition.comparisons[0]
    if not _is_invariant(target.comparator, variant, index_name):
        return None
    if isinstance(target.operator, (cst.Equal, cst.GreaterThanEqual)):
        return target.comparator, 0
    if isinstance(target.operator, cst.GreaterThan):
        return target.comparator, 1
    return None


PATTERN = BatchLimit()
