"""A loop over plain items instead of a DataLoader (`for sentence, tags in training_data:` over
a list of pairs, `for i in range(0, len(X), batch_size):` over offsets): the Trainer needs a
DataLoader, so the site gets one that hands over the items one per step, unchanged
(`batch_size=None`, an identity collate), with a generator of its own so that it draws nothing
from the global random state, in the order the loop took them.

Its check covers every loop's source: the Trainer takes its loaders once, at fit, so a loader
the epoch loop rebuilds, or items it shuffles or appends to, are declined."""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import assigned_value, bindings
from converter.analysis.index import SourceIndex
from converter.analysis.loops import iterates_items
from converter.analysis.names import names_read, names_written
from converter.analysis.site import Declined, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import fill


class ItemLoader(Pattern):
    name = "item-loader"
    example = Example(
        shape="a batch loop over plain items (a list of pairs, `range(0, n, bs)` offsets)",
        becomes="a DataLoader of those items, one per step, in order",
        before="""
        import torch
        from torch import nn

        pairs = [(torch.randn(4), torch.randn(1)) for _ in range(32)]
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            for x, y in pairs:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
        """,
        after="""
        pairs_loader = torch.utils.data.DataLoader(
            list(pairs), batch_size=None, collate_fn=lambda item: item, generator=torch.Generator()
        )
        trainer = pl.Trainer(max_epochs=3)
        trainer.fit(lit_model, train_dataloaders=pairs_loader)
        """,
    )

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        # The Trainer takes its loaders once, at fit: a loader the epoch loop rebuilds, or items
        # it changes (a shuffle per epoch, an append), would stay as they were at the start.
        for stage in site.stages.values():
            if stage.items is not None:
                sources, changes = names_read(index, [stage.items]), _changed_or_mutated
            else:
                sources, changes = {stage.loader.value}, _changed
            for moved in site.all_moved():
                changed = sources & changes(index, moved.node)
                if changed:
                    raise Declined(
                        index.line(moved.node),
                        f"the {stage.name.value} loop iterates over `{sorted(changed)[0]}`, "
                        "which the training loop changes: the Trainer takes its loaders once, "
                        "before training",
                    )

        for stage in site.stages.values():  # (after: a change in the loop says more)
            _check_one_source(index, stage)

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        for stage in site.stages.values():
            if stage.items is not None:
                items = stage.loop_origin.at_site(stage.items)
                out.prelude += fill("items_loader", loader=stage.loader, items=items)
                out.imports.add("torch")

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        for stage in site.stages.values():
            if stage.items is not None:
                report.change(
                    "loop",
                    index.line(stage.loop),
                    f"the {stage.name.value} loop's items -> a DataLoader `{stage.loader.value}`",
                )


def _check_one_source(index: SourceIndex, stage) -> None:
    """A loop over a name bound more than once, once to plain items (`data = [...]`, and `data`
    again elsewhere): neither a DataLoader the Trainer can take as it is (a list given to fit is
    a list of loaders to Lightning) nor one set of items to make one from."""
    if stage.items is not None or not isinstance(stage.loader, cst.Name):
        return
    name = stage.loader.value
    origin = stage.loop_origin
    scope = origin.scope.lookup(name) if origin.scope else None
    if scope is None or origin.argument(name) is not None:
        return
    statements = bindings(index, scope, name)
    if len(statements) < 2:
        return
    for statement in statements:
        value = assigned_value(statement, name)
        if value is not None and iterates_items(index, value, origin):
            lines = ", ".join(str(index.line(s)) for s in statements)
            raise Declined(
                index.line(stage.loop),
                f"the {stage.name.value} loop iterates `{name}`, bound more than once (lines "
                f"{lines}), to plain items at line {index.line(statement)}: the Trainer needs "
                "one DataLoader",
            )


# Calls that change the list or dict they are called on, or are handed.
_MUTATING_METHODS = frozenset(
    "append extend insert pop remove sort reverse clear update setdefault popitem".split()
)
_READING_CALLS = frozenset("len enumerate zip range iter list tuple sorted print min max".split())


def _changed(index: SourceIndex, node: cst.CSTNode) -> set[str]:
    return names_written(index, [node])


def _changed_or_mutated(index: SourceIndex, node: cst.CSTNode) -> set[str]:
    found = _changed(index, node)
    for call in find(node, cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            if func.attr.value in _MUTATING_METHODS:
                found.add(func.value.value)
        if isinstance(func, cst.Name) and func.value in _READING_CALLS:
            continue
        found |= {a.value.value for a in call.args if isinstance(a.value, cst.Name)}
    return found


PATTERN = ItemLoader()
