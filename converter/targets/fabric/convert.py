"""The Fabric conversion of one script, start to end: who is who, where Fabric lives, the edits,
one transform of the tree, the report."""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined
from converter.analysis.torch_api import BACKWARD_CALL
from converter.lightning_code.layout import BLANK, insert_imports
from converter.report import Report
from converter.targets.fabric import checks, clipping, devices, training
from converter.targets.fabric.amp import find_amp
from converter.targets.fabric.amp import rewrite as rewrite_amp
from converter.targets.fabric.context import Context
from converter.targets.fabric.edits import ApplyFabricEdits, FabricEdits
from converter.targets.fabric.loops import find_loops
from converter.targets.fabric.metrics import reduce_sums
from converter.targets.fabric.parameters import pass_fabric
from converter.targets.fabric.reach import place, references
from converter.targets.fabric.reporting import describe
from converter.targets.fabric.roles import Roles, find_roles
from converter.targets.fabric.setup import (
    Names,
    fabric_options,
    launch,
    loader_anchor,
    loaders_setup,
    setup_points,
)

_NEEDS_PROCESS_GROUP = (
    "torch.distributed",
    "torch.utils.data.distributed.DistributedSampler",
    "torch.utils.data.DistributedSampler",
)


#: Where Fabric lives in each Lightning distribution (pytorch-lightning bundles lightning_fabric).
FABRIC_MODULES = {"pytorch_lightning": "lightning_fabric", "lightning": "lightning.fabric"}


def convert_to_fabric(
    index: SourceIndex, report: Report, package: str = "pytorch_lightning"
) -> cst.Module:
    checks.refuse_lightning(index)
    checks.refuse_uncompilable(index)
    backward_calls = [c for c in index.nodes(cst.Call) if m.matches(c, BACKWARD_CALL)]
    if not backward_calls:
        raise Declined(1, "no training loop: nothing calls .backward()", kind="file")
    checks.refuse_spawn(index)
    roles = find_roles(index)
    group = checks.process_group_statements(index)
    distributed = any(
        index.resolves_to(s.body[0].value.func, "torch.distributed.init_process_group")
        for s in group
    )
    amp = find_amp(index, roles)
    names = Names.choose(index)
    clips = clipping.find_clips(index, roles, amp.precision is not None)
    precision, comment = amp.precision or clips.precision, amp.comment or clips.comment
    options = fabric_options(index, roles, distributed, precision, comment)
    points, together = setup_points(index, roles, names.fabric)
    required = [anchor for anchor, _ in points if anchor is not None]
    required += _training_in_scope(index, roles, backward_calls)
    if distributed:  # what needs the process group comes after Fabric's launch, which makes it
        required += _process_group_in_scope(index, roles, group)
    reach = place(index, roles, required, options.needs)
    # Without a module to set up (an optimizer of plain tensors), Fabric moves nothing: the
    # script keeps its tensors, batches included, where it puts them.
    loops = find_loops(index, reach, distributed or not roles.models)
    kept, loaders_after = loader_anchor(
        index, reach, loops.loaders + loops.whole, points[0][0] if together else None
    )
    setup_at = loaders_after or reach.anchor  # the loaders' setup follows it, or precedes it

    def set_up(node, names) -> bool:
        """`node` iterates set-up loaders: all kept, and it runs after their setup."""
        before = index.enclosing_function(node) is roles.function and (
            index.order(node) < index.order(setup_at)
            or (loaders_after is not None and any(a is setup_at for a in index.ancestors(node)))
        )
        if before and set(names) & set(kept):
            loops.early.add(node)
        return bool(names) and set(names) <= set(kept) and not before

    for loop in loops.loops:
        if loop.loader is not None and not set_up(loop.node, loop.loaders):
            loop.loader, loop.loaders, loop.sums, loop.sharded = None, [], [], False
    # what stays is a comprehension over loaders Fabric does not set up before it
    loops.comprehensions = [(n, names) for n, names in loops.comprehensions if not set_up(n, names)]

    edits = FabricEdits()
    launched = launch(names, options)
    for anchor, statements in points:
        if anchor is None:
            launched += statements
        else:
            edits.insert_after(anchor, statements)
    if kept:
        sharded = [n for n in kept if n in loops.loaders]
        whole = [n for n in kept if n in loops.whole]
        setups = [loaders_setup(names.fabric, sharded)] if sharded else []
        setups += [loaders_setup(names.fabric, whole, sharded=False)] if whole else []
        if loaders_after is None:
            launched += setups
        else:
            edits.insert_after(loaders_after, setups)
    _space(reach.anchor, launched, edits)
    edits.insert_before(reach.anchor, launched)
    if options.flags:
        binding = roles.namespace_binding
        edits.insert_before(binding, options.flags)
        edits.on(binding, lambda u: u.with_changes(leading_lines=[]))

    ctx = Context(index, roles, reach, loops, names.fabric, edits)
    for model in roles.models:  # after its setup, the name holds Fabric's wrapper
        after = [a for a, _ in points if a is not None and _sets_up(a, model, roles, together)]
        ctx.wrapped_after[model.name] = min((index.order(a) for a in after), default=-1)
    training.backward(ctx, amp.unscaled)
    rewrite_amp(ctx, amp)
    clipping.rewrite(ctx, clips)
    training.prints(ctx)
    rank_zero = training.prints_after_launch(ctx, names.rank_zero)
    training.containers(ctx)
    devices.unmoved_batches(ctx)
    devices.model_moves(ctx, group)
    devices.devices(ctx)
    if roles.models:
        devices.created_tensors(ctx)
        devices.outside_tensors(ctx)
    training.saves(ctx)
    training.files_once(ctx)
    reduce_sums(ctx)
    pass_fabric(index, reach, ctx)

    module = index.module.visit(ApplyFabricEdits(index, edits))
    fabric_module = FABRIC_MODULES[package]
    imports = _imports(index, names, options.imports, fabric_module)
    if rank_zero:
        alias = "" if names.rank_zero == "rank_zero_only" else f" as {names.rank_zero}"
        imports.append(f"from {fabric_module}.utilities import rank_zero_only{alias}")
    module = insert_imports(module, imports)
    describe(index, roles, reach, loops, ctx, kept, points, report, distributed, amp)
    if clips.pinned:
        report.change(
            "precision",
            clips.line,
            f"Fabric(precision={clipping.PINNED}): the script's {clips.pinned} would clip the "
            "gradients a mixed precision scales",
        )
    return module


def _sets_up(anchor, model, roles: Roles, together: bool) -> bool:
    return together or anchor in model.bindings


def _space(anchor: cst.BaseStatement, launched: list, edits: FabricEdits) -> None:
    """The blank lines above the statement Fabric goes before now go above Fabric, and one blank
    line separates it from that statement (and its comments)."""
    lines = list(anchor.leading_lines)
    blank = 0
    while blank < len(lines) and lines[blank].comment is None:
        blank += 1
    if blank:
        launched[0] = launched[0].with_changes(
            leading_lines=[*lines[:blank], *launched[0].leading_lines]
        )
        edits.on(anchor, lambda u: u.with_changes(leading_lines=[BLANK, *lines[blank:]]))


def _process_group_in_scope(index: SourceIndex, roles: Roles, group) -> list[cst.CSTNode]:
    inits = [
        s
        for s in group
        if index.resolves_to(s.body[0].value.func, "torch.distributed.init_process_group")
    ]
    for statement in inits:
        if index.enclosing_function(statement) is not roles.function:
            where = roles.function.name.value + "()" if roles.function else "the script"
            raise Declined(
                index.line(statement),
                f"the process group is initialised elsewhere than in {where}, which creates the "
                "model: Fabric's launch cannot take its place",
            )
    removed = set(group)
    uses = []
    for node in index.nodes((cst.Name, cst.Attribute)):
        if isinstance(index.parent(node), (cst.Attribute, cst.ImportAlias, cst.ImportFrom)):
            continue
        if index.enclosing_function(node) is not roles.function:
            continue
        if index.resolves_to(node, *_NEEDS_PROCESS_GROUP) and not any(
            a in removed for a in index.ancestors(node)
        ):
            uses.append(node)
    return uses


def _training_in_scope(index: SourceIndex, roles: Roles, backward_calls) -> list[cst.CSTNode]:
    """Where the setup scope trains: its own backward() calls, and its calls of the functions
    that call backward() (directly or through others)."""
    found = []
    functions: set[cst.FunctionDef] = set()
    pending = list(backward_calls)
    while pending:
        node = pending.pop()
        function = index.enclosing_function(node)
        if function is roles.function:
            found.append(node)
            continue
        if function is None or function in functions:
            continue
        functions.add(function)
        if not isinstance(index.parent(function), cst.Module):
            pending.append(function)  # nested: where it is defined
            continue
        pending += [call for call in references(index, function) if call is not None]
    return found


def _imports(index: SourceIndex, names, modules: set[str], fabric_module: str) -> list[str]:
    bound = index.body_scope(None).assignments
    lines = [f"import {name}" for name in sorted(modules) if not bound[name]]
    alias = "" if names.cls == "Fabric" else f" as {names.cls}"
    return [*lines, f"from {fabric_module} import Fabric{alias}"]
