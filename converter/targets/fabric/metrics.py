"""Sums over the batches, totals over all processes.

A set-up loader gives each process its share of the data, so after a loop over it each process
holds the sums (`correct += ...`, `test_loss += ...`, a training epoch's `running_loss += ...`) of
its own batches. Right after the loop they become the totals over all processes (Fabric's
`all_reduce`), and the batch count `len(loader)` read after the loop, or in the sums' own
increments (`loss.item() / len(loader)`), becomes all processes' batches: every process has as
many. So what the script then computes and prints is what one process over all the data would
have. On one process nothing runs: nothing changes, not even a type. (A DistributedSampler pads a
data set that does not divide evenly across the processes with repeated items; the sums then
count those twice, as Lightning's do.) A sum read after the loop next to the loop's own batch
index (`running_loss / (i + 1)`, this process's count) stays the process's own.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.names import names_read
from converter.analysis.sums import increments, is_number
from converter.analysis.walk import find
from converter.targets.fabric.context import Context
from converter.targets.fabric.loops import Loop
from converter.templating import expr, fill

_LEN = m.Call(func=m.Name("len"), args=[m.Arg(m.Name())])
# Parents under which `len(...) * world_size` needs parentheses.
_TIGHT = (cst.BinaryOperation, cst.UnaryOperation, cst.Attribute, cst.Subscript, cst.Comparison)


def reduce_sums(ctx: Context) -> None:
    """Insert the reductions after each loop with sums."""
    index = ctx.index
    for loop in ctx.loops.loops:
        if not loop.sharded or not loop.sums:
            continue
        function = index.enclosing_function(loop.node)
        root = function if function is not None else index.module
        after = [
            node
            for node in _following(ctx, loop, root, function)
            if not any(a is loop.node for a in index.ancestors(node))
        ]
        counter = _counter(loop.node)
        if counter is not None and counter in names_read(index, after):
            ctx.count(loop.node, "sums per process")
            continue
        fabric = ctx.name()
        sums = [
            fill(
                "fabric_number_over_processes"
                if _holds_number(ctx, loop, name)
                else "fabric_tensor_over_processes",
                total=cst.Name(name),
                fabric=fabric,
            )[0]
            for name in loop.sums
        ]
        ctx.edits.insert_after(
            loop.node, fill("fabric_sum_over_processes", fabric=fabric, sums=sums)
        )
        ctx.use(loop.node, "sums")
        loader = loop.iterated.value
        counted = [call for node in after for call in find(node, cst.Call, _LEN)]
        counted += [
            call
            for name in loop.sums
            for aug in increments([loop.node.body], name)
            for call in find(aug.value, cst.Call, _LEN)
        ]
        for call in counted:
            if call.args[0].value.value == loader:
                ctx.edits.on(call, _all_batches(ctx, index.parent(call)))
                ctx.use(call, "sums")


def _following(ctx: Context, loop: Loop, root, function) -> list[cst.CSTNode]:
    """The `len(...)` calls' and names' statements after the loop in its own function."""
    index = ctx.index
    return [
        node
        for node in find(root, cst.SimpleStatementLine)
        if index.order(node) > index.order(loop.node) and index.enclosing_function(node) is function
    ]


def _counter(loop: cst.For) -> str | None:
    """`i` of `for i, batch in enumerate(loader)`."""
    if m.matches(loop.iter, m.Call(func=m.Name("enumerate"))) and m.matches(
        loop.target, m.Tuple(elements=[m.Element(m.Name()), m.Element()])
    ):
        return loop.target.elements[0].value.value
    return None


def _holds_number(ctx: Context, loop: Loop, name: str) -> bool:
    """Set to a number before the loop (see loops.py) and added numbers to in it."""
    return all(is_number(ctx.index, aug.value) for aug in increments([loop.node.body], name))


def _all_batches(ctx: Context, parent):
    """`len(loader)` (this process's batches) -> the batches of all processes."""

    def change(updated: cst.BaseExpression) -> cst.BaseExpression:
        total = cst.BinaryOperation(updated, cst.Multiply(), expr(f"{ctx.fabric}.world_size"))
        if isinstance(parent, _TIGHT):
            total = total.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return total

    return change
