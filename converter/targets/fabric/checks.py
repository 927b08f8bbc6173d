"""What a Fabric conversion looks at before anything else: a script that uses Lightning already,
starts its own processes or shards its model by itself is declined; the DDP boilerplate Fabric
takes over."""

from __future__ import annotations

import warnings

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined

_PROCESS_GROUP = (
    "torch.distributed.init_process_group",
    "torch.distributed.destroy_process_group",
    "torch.cuda.set_device",
)


_SPAWN = ("torch.multiprocessing.spawn", "torch.multiprocessing.start_processes")
_LIGHTNING = ("lightning", "pytorch_lightning", "lightning_fabric")
#: The script shards or distributes the model by itself: Fabric's strategy would do it again.
_SHARDING = (
    "torch.distributed.fsdp",
    "torch.distributed.tensor",
    "torch.distributed._tensor",
    "torch.distributed.device_mesh",
    "torch.distributed._composable",
    "torch.distributed.pipelining",
    "torch.distributed.rpc",
    "torch.distributed.autograd",
    "torch.distributed.optim",
    "torch.nn.parallel.DistributedDataParallel.join",
)


def refuse_uncompilable(index: SourceIndex) -> None:
    """A script CPython cannot compile (LibCST parses more: `global x` after a use of `x`, `await`
    outside a coroutine) cannot be converted into one that compiles."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(index.module.code, "<script>", "exec", dont_inherit=True)
    except SyntaxError as error:
        raise Declined(
            error.lineno or 1, f"it does not compile: {error.msg}", kind="file"
        ) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise Declined(1, f"it does not compile: {error}", kind="file") from None


def refuse_lightning(index: SourceIndex) -> None:
    """A script that uses Lightning already (a Fabric conversion, converted again), or that
    shards its model with torch.distributed's own tools (FSDP, tensor parallelism, RPC)."""
    for node in index.nodes((cst.Import, cst.ImportFrom)):
        names = (
            [a.name for a in node.names]
            if isinstance(node, cst.Import)
            else [node.module]
            if node.module is not None and not node.relative
            else []
        )
        for name in names:
            dotted = cst.Module([]).code_for_node(name)
            if dotted.split(".")[0] in _LIGHTNING:
                raise Declined(index.line(node), f"it uses Lightning already (`{dotted}`)", "file")
            if any(dotted == s or dotted.startswith(s + ".") for s in _SHARDING):
                raise Declined(
                    index.line(node),
                    f"it shards or distributes the model itself (`{dotted}`): Fabric's strategy "
                    "would do it a second time",
                )


def refuse_spawn(index: SourceIndex) -> None:
    for call in index.nodes(cst.Call):
        if index.resolves_to(call.func, *_SPAWN):
            raise Declined(
                index.line(call),
                "it starts its own processes (torch.multiprocessing); Fabric launches them itself",
            )


def process_group_statements(index: SourceIndex) -> list[cst.SimpleStatementLine]:
    """`dist.init_process_group(...)`, `destroy_process_group()`, `torch.cuda.set_device(...)`:
    Fabric's strategy does them."""
    found = []
    for statement in index.nodes(cst.SimpleStatementLine):
        small = statement.body[0] if len(statement.body) == 1 else None
        if m.matches(small, m.Expr(m.Call())) and index.resolves_to(
            small.value.func, *_PROCESS_GROUP
        ):
            found.append(statement)
    return found
