"""DDP boilerplate: what the Trainer's `strategy="ddp"` does for the script.

`init_process_group` / `destroy_process_group` / `torch.cuda.set_device`, `model = DDP(model)`
and the `DistributedSampler` (with its `set_epoch`) go away; the loader keeps the sampler's
shuffling as `shuffle=`, which Lightning turns back into a DistributedSampler (seed 0, one epoch
number per epoch, as the script had). Ranks read from `dist.get_rank()` or `LOCAL_RANK` become
`self.global_rank` / `self.local_rank`. Any other distributed call (all_reduce, barrier...) is
beyond this and declines.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_full_name_for_node

from converter.analysis.bindings import code
from converter.analysis.index import SourceIndex
from converter.analysis.plan import Declined, TrainingPlan

DDP = (
    "torch.nn.parallel.DistributedDataParallel",
    "torch.nn.parallel.distributed.DistributedDataParallel",
)
SAMPLER = ("torch.utils.data.distributed.DistributedSampler", "torch.utils.data.DistributedSampler")
SETUP_CALLS = (
    "torch.distributed.init_process_group",
    "torch.distributed.destroy_process_group",
    "torch.cuda.set_device",
)
GLOBAL_RANK = ("torch.distributed.get_rank",)


def uses_distributed(index: SourceIndex) -> bool:
    """Whether anything is imported from torch.distributed / torch.nn.parallel at all."""
    modules = [
        get_full_name_for_node(i.module) or "" for i in index.nodes(cst.ImportFrom) if i.module
    ]
    modules += [
        get_full_name_for_node(a.name) or "" for i in index.nodes(cst.Import) for a in i.names
    ]
    return any("distributed" in name or "parallel" in name for name in modules)


def plan_distributed(index: SourceIndex, plan: TrainingPlan, scope) -> None:
    """Record what goes away and what the hooks read instead; decline anything else."""
    found = False
    for statement in m.findall(_site_root(index, plan), m.SimpleStatementLine()):
        if index.scope(statement) is not scope or len(statement.body) != 1:
            continue
        small = statement.body[0]
        if m.matches(small, m.Expr(m.Call())) and index.resolves_to(small.value.func, *SETUP_CALLS):
            if index.resolves_to(small.value.func, "torch.distributed"):
                found = True
            plan.removed.append(statement)
        elif m.matches(small, m.Assign(targets=[m.AssignTarget(m.Name())], value=m.Call())):
            found |= _binding(index, plan, statement, small)
    if not found:
        return
    plan.trainer_kwargs["strategy"] = (cst.SimpleString('"ddp"'), None)
    for name in index.nodes((cst.Name, cst.Attribute)):
        if index.resolves_to(name, "torch.distributed") and not index.resolves_to(
            name, *SETUP_CALLS, *GLOBAL_RANK
        ):
            parent = index.parent(name)
            if not isinstance(parent, (cst.Attribute, cst.ImportAlias, cst.ImportFrom)):
                raise Declined(index.line(name), f"`{code(name)}` is not converted")


def _binding(index: SourceIndex, plan: TrainingPlan, statement, assign) -> bool:
    name, call = assign.targets[0].target.value, assign.value
    if index.resolves_to(call.func, *DDP):
        wrapped = call.args[0].value if call.args else None
        if not (
            isinstance(wrapped, cst.Name) and wrapped.value == name and name in plan.model_vars
        ):
            raise Declined(
                index.line(statement),
                "DistributedDataParallel around something else than the model",
            )
        plan.removed.append(statement)
        return True
    if index.resolves_to(call.func, *SAMPLER):
        shuffle = next(
            (a.value for a in call.args if a.keyword and a.keyword.value == "shuffle"), None
        )
        if any(
            a.keyword and a.keyword.value not in ("shuffle", "num_replicas", "rank")
            for a in call.args
        ):
            raise Declined(
                index.line(statement), "a DistributedSampler with a seed or drop_last of its own"
            )
        plan.samplers[name] = shuffle or cst.Name("True")
        plan.removed.append(statement)
        return True
    if index.resolves_to(call.func, *GLOBAL_RANK):
        plan.rank_vars[name] = "self.global_rank"
        return True
    if m.matches(
        call,
        m.Call(
            func=m.Name("int"), args=[m.Arg(m.Subscript(value=m.Attribute(attr=m.Name("environ"))))]
        ),
    ):
        key = call.args[0].value.slice[0].slice.value
        if isinstance(key, cst.SimpleString) and key.evaluated_value in ("LOCAL_RANK", "RANK"):
            plan.rank_vars[name] = (
                "self.local_rank" if key.evaluated_value == "LOCAL_RANK" else "self.global_rank"
            )
    return False


def rank_bindings(index: SourceIndex, plan: TrainingPlan) -> list[cst.BaseStatement]:
    """`local_rank = int(os.environ["LOCAL_RANK"])`, and a device built from it, go too (a plain
    `python train.py` has no LOCAL_RANK): the hooks read `self.local_rank` and `self.device`.
    Code staying at the site must not need them."""
    names = set(plan.rank_vars)
    for device in plan.device_vars:
        for assignment in plan.site_scope.assignments[device]:
            statement = index.enclosing_statement(assignment.node)
            if any(n.value in plan.rank_vars for n in m.findall(statement, m.Name())):
                names.add(device)
    bindings = [
        index.enclosing_statement(a.node)
        for name in names
        for a in plan.site_scope.assignments[name]
        if a.scope is plan.site_scope
    ]
    covered = [item.node for item in plan.all_moved()] + list(plan.removed) + list(plan.test_region)
    covered += [plan.epoch_loop or plan.stages["train"].loop, *bindings]
    for name in names:
        for access in plan.site_scope.accesses[name]:
            node = access.node
            inside = any(node is n or _contains(index, n, node) for n in covered)
            stripped = any(  # `Net().to(local_rank)`: the move goes with the binding's rewrite
                _contains(index, model.binding, node) and not _contains(index, model.call, node)
                for model in plan.models
            )
            if not (inside or stripped):
                raise Declined(index.line(node), f"`{name}` is used outside the training loop")
    return bindings


def _contains(index: SourceIndex, outer: cst.CSTNode, node: cst.CSTNode) -> bool:
    return any(a is outer for a in index.ancestors(node))


def loader_edits(index: SourceIndex, plan: TrainingPlan) -> dict[cst.Arg, cst.Arg]:
    """`DataLoader(..., sampler=sampler)` -> `DataLoader(..., shuffle=<the sampler's shuffle>)`."""
    edits = {}
    for arg in index.nodes(cst.Arg):
        if (
            m.matches(arg, m.Arg(keyword=m.Name("sampler"), value=m.Name()))
            and arg.value.value in plan.samplers
        ):
            edits[arg] = arg.with_changes(
                keyword=cst.Name("shuffle"), value=plan.samplers[arg.value.value]
            )
    return edits


def _site_root(index: SourceIndex, plan: TrainingPlan) -> cst.CSTNode:
    return plan.site_function if plan.site_function is not None else index.module
