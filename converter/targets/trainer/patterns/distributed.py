"""DDP boilerplate: what the Trainer's `strategy="ddp"` does for the script.

`init_process_group` / `destroy_process_group` / `torch.cuda.set_device`, `model = DDP(model)`
and the `DistributedSampler` (with its `set_epoch`) go away; the loader keeps the sampler's
shuffling as `shuffle=`, which Lightning turns back into a DistributedSampler (seed 0, one epoch
number per epoch, as the script had). Ranks read from `dist.get_rank()` or `LOCAL_RANK` become
`self.global_rank` / `self.local_rank`; the Trainer's devices and nodes come from what the
launcher set (torchrun's LOCAL_WORLD_SIZE and WORLD_SIZE, SLURM's tasks per node and nodes),
which Lightning requires to match the world it finds. Any other distributed call (all_reduce,
barrier...) is beyond this and declines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.helpers import get_full_name_for_node

from converter.analysis import match as m
from converter.analysis.bindings import code
from converter.analysis.index import SourceIndex
from converter.analysis.site import Claim, Declined, Role, TrainingSite
from converter.analysis.torch_api import DDP
from converter.analysis.walk import find
from converter.lightning_code.options import DEVICES, NUM_NODES
from converter.targets.trainer.patterns.base import (
    ClaimContext,
    Emission,
    Example,
    Pattern,
    method_call,
)
from converter.templating import expr

SAMPLER = ("torch.utils.data.distributed.DistributedSampler", "torch.utils.data.DistributedSampler")
SETUP_CALLS = (
    "torch.distributed.init_process_group",
    "torch.distributed.destroy_process_group",
    "torch.cuda.set_device",
)
GLOBAL_RANK = ("torch.distributed.get_rank",)
_SAMPLER_ARG = m.Arg(keyword=m.Name("sampler"), value=m.Name())
_RANK_VARIABLES = {"LOCAL_RANK": "self.local_rank", "RANK": "self.global_rank"}


@dataclass
class DistributedState:
    found: bool = False  # process group or DDP boilerplate: the Trainer gets strategy="ddp"
    samplers: dict[str, cst.BaseExpression] = field(default_factory=dict)  # name -> shuffle
    rank_statements: list[cst.BaseStatement] = field(default_factory=list)  # dropped at the site
    sampler_args: list[cst.Arg] = field(default_factory=list)  # DataLoader(sampler=...)
    line: int = 0


class DistributedBoilerplate(Pattern):
    name = "distributed"
    example = Example(
        shape="DDP by hand: `init_process_group`, `DistributedSampler`, `DDP(model)`",
        becomes='removed; `Trainer(strategy="ddp")` with the devices the launcher started',
        before="""
        import torch
        import torch.distributed as dist
        from torch import nn
        from torch.nn.parallel import DistributedDataParallel as DDP
        from torch.utils.data import DataLoader, TensorDataset
        from torch.utils.data.distributed import DistributedSampler

        dist.init_process_group("gloo")
        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        sampler = DistributedSampler(data)
        loader = DataLoader(data, batch_size=8, sampler=sampler)
        model = nn.Linear(4, 1)
        model = DDP(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            sampler.set_epoch(epoch)
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
        dist.destroy_process_group()
        """,
        after="""
        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8, shuffle=True)
        model = nn.Linear(4, 1)
        ...
        trainer = pl.Trainer(
            max_epochs=3,
            strategy="ddp",
        """,
    )
    State = DistributedState

    def wraps_model(self, call: cst.Call, index: SourceIndex) -> bool:
        return index.resolves_to(call.func, *DDP)

    def bind(self, site: TrainingSite, index: SourceIndex) -> None:
        """Record what goes away and what the hooks read instead; decline anything else."""
        if not _uses_distributed(index):
            return
        state = site.state(self)
        root = site.site_function if site.site_function is not None else index.module
        for statement in find(root, cst.SimpleStatementLine):
            if index.scope(statement) is not site.site_scope or len(statement.body) != 1:
                continue
            small = statement.body[0]
            if m.matches(small, m.Expr(m.Call())) and index.resolves_to(
                small.value.func, *SETUP_CALLS
            ):
                if index.resolves_to(small.value.func, "torch.distributed"):
                    state.found = True
                    state.line = state.line or index.line(statement)
                site.removed.append(statement)
            elif m.matches(small, m.Assign(targets=[m.AssignTarget(m.Name())], value=m.Call())):
                if _binding(index, site, state, statement, small):
                    state.found = True
                    state.line = state.line or index.line(statement)
        if not state.found:
            return
        for arg in index.nodes(cst.Arg):
            if m.matches(arg, _SAMPLER_ARG) and arg.value.value in state.samplers:
                state.sampler_args.append(arg)
                site.rewritten.append(arg)
        for name in index.nodes((cst.Name, cst.Attribute)):
            if index.resolves_to(name, "torch.distributed") and not index.resolves_to(
                name, *SETUP_CALLS, *GLOBAL_RANK
            ):
                parent = index.parent(name)
                if not isinstance(parent, (cst.Attribute, cst.ImportAlias, cst.ImportFrom)):
                    raise Declined(index.line(name), f"`{code(name)}` is not converted")

    def claim(self, statement: cst.BaseStatement, ctx: ClaimContext) -> bool:
        """`sampler.set_epoch(epoch)`: Lightning sets the epoch on the sampler it adds."""
        found = method_call(statement)
        samplers = ctx.site.state(self).samplers
        if found is None or found[1] != "set_epoch" or ctx.site_name(found[0]) not in samplers:
            return False
        epoch = found[2].args[0].value if len(found[2].args) == 1 else None
        site = ctx.site
        if not (
            m.matches(epoch, m.Name())
            and site.epoch is not None
            and ctx.site_name(epoch) == site.epoch.var
            and site.epoch.start is None
        ):
            raise ctx.decline(statement, "set_epoch() with another number than Lightning's epoch")
        ctx.record(Claim.SET_EPOCH, statement)
        return True

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        """`local_rank = int(os.environ["LOCAL_RANK"])`, and a device built from it, go too (a
        plain `python train.py` has no LOCAL_RANK): the hooks read `self.local_rank` and
        `self.device`. Code staying at the site must not need them."""
        ranks = site.names(Role.RANK)
        names = set(ranks)
        for device in site.names(Role.DEVICE):
            for assignment in site.site_scope.assignments[device]:
                statement = index.enclosing_statement(assignment.node)
                if any(n.value in ranks for n in find(statement, cst.Name)):
                    names.add(device)
        bindings = [
            index.enclosing_statement(a.node)
            for name in names
            for a in site.site_scope.assignments[name]
            if a.scope is site.site_scope
        ]
        covered = [item.node for item in site.all_moved()] + site.removed + site.test_region
        covered += [site.outer_loop, *bindings]
        for name in names:
            for access in site.site_scope.accesses[name]:
                node = access.node
                inside = any(node is n or _contains(index, n, node) for n in covered)
                stripped = any(  # `Net().to(local_rank)`: the move goes with the binding's rewrite
                    _contains(index, model.binding, node) and not _contains(index, model.call, node)
                    for model in site.models
                )
                if not (inside or stripped):
                    raise Declined(index.line(node), f"`{name}` is used outside the training loop")
        site.state(self).rank_statements = bindings

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        state = site.state(self)
        if state.found:
            out.option("strategy", cst.SimpleString('"ddp"'))
            # As many processes as the launcher (torchrun, SLURM) started; one when run plainly.
            out.option("devices", expr(DEVICES))
            out.option("num_nodes", expr(NUM_NODES))
            out.imports.add("os")
        out.site_removals += state.rank_statements
        # `DataLoader(..., sampler=sampler)` -> `DataLoader(..., shuffle=<the sampler's shuffle>)`
        for arg in state.sampler_args:
            out.site_values[arg] = arg.with_changes(
                keyword=cst.Name("shuffle"), value=state.samplers[arg.value.value]
            )

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        if state.found:
            report.change("distributed", state.line, 'DDP boilerplate -> Trainer(strategy="ddp")')


def _uses_distributed(index: SourceIndex) -> bool:
    """Whether anything is imported from torch.distributed / torch.nn.parallel at all."""
    modules = [
        get_full_name_for_node(i.module) or "" for i in index.nodes(cst.ImportFrom) if i.module
    ]
    modules += [
        get_full_name_for_node(a.name) or "" for i in index.nodes(cst.Import) for a in i.names
    ]
    return any("distributed" in name or "parallel" in name for name in modules)


def _binding(index: SourceIndex, site: TrainingSite, state, statement, assign) -> bool:
    name, call = assign.targets[0].target.value, assign.value
    if index.resolves_to(call.func, *DDP):
        wrapped = call.args[0].value if call.args else None
        if not (
            isinstance(wrapped, cst.Name) and wrapped.value == name and name in site.model_vars
        ):
            raise Declined(
                index.line(statement),
                "DistributedDataParallel around something else than the model",
            )
        site.removed.append(statement)
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
        state.samplers[name] = shuffle or cst.Name("True")
        site.bind(name, Role.OTHER)
        site.removed.append(statement)
        return True
    if index.resolves_to(call.func, *GLOBAL_RANK):
        site.bind(name, Role.RANK, "self.global_rank")
        return True
    if m.matches(
        call,
        m.Call(
            func=m.Name("int"), args=[m.Arg(m.Subscript(value=m.Attribute(attr=m.Name("environ"))))]
        ),
    ):
        key = call.args[0].value.slice[0].slice.value
        if isinstance(key, cst.SimpleString) and key.evaluated_value in _RANK_VARIABLES:
            site.bind(name, Role.RANK, _RANK_VARIABLES[key.evaluated_value])
    return False


def _contains(index: SourceIndex, outer: cst.CSTNode, node: cst.CSTNode) -> bool:
    return any(a is outer for a in index.ancestors(node))


PATTERN = DistributedBoilerplate()
