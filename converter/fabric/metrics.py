"""Evaluation totals over all processes.

A set-up loader gives each process its share of the data, so after an evaluation loop each
process holds the sums (`correct += ...`, `test_loss += ...`) of its own batches. Right after the
loop they become the totals over all processes (`correct = sum_over_processes(fabric, correct)`,
Fabric's `all_reduce`), and the batch count `len(loader)` read after the loop becomes the total
too, so what the script then computes and prints is what one process over all the data would
have. On one process the helper returns its argument itself: nothing changes, not even the type.
(A DistributedSampler pads a data set that does not divide evenly across the processes with
repeated items; the sums then count those twice, as Lightning's do.)
"""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.walk import find
from converter.fabric.context import Context
from converter.templating import expr, fill

_LEN = m.Call(func=m.Name("len"), args=[m.Arg(m.Name())])


def reduce_sums(ctx: Context, helper: str) -> bool:
    """Insert the reductions; True when the script needs the helper."""
    index = ctx.index
    needed = False
    for loop in ctx.loops.loops:
        if loop.trains or not loop.sharded or not loop.sums:
            continue
        statements = [cst.parse_statement(f"{n} = {helper}({ctx.fabric}, {n})") for n in loop.sums]
        ctx.edits.insert_after(loop.node, statements)
        ctx.use(loop.node, "sums")
        needed = True
        function = index.enclosing_function(loop.node)
        loader = loop.iterated.value
        root = function if function is not None else index.module
        for call in find(root, cst.Call, _LEN):
            if (
                call.args[0].value.value == loader
                and index.order(call) > index.order(loop.node)
                and index.enclosing_function(call) is function
                and not any(a is loop.node for a in index.ancestors(call))
            ):
                ctx.edits.on(
                    call,
                    lambda u: expr(f"{helper}({ctx.fabric}, {cst.Module([]).code_for_node(u)})"),
                )
                ctx.use(call, "sums")
    return needed


def helper_function(helper: str) -> cst.FunctionDef:
    return fill("fabric_sum_over_processes", helper=cst.Name(helper))[0]
