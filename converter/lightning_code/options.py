"""The options both targets give Lightning: the scaling flags an argparse script gains, the
launch values torchrun and SLURM set, and the precision an autocast call stands for.

They are the same for `Trainer(...)` and `Fabric(...)`: a converted script runs on a laptop or a
cluster with the same command line either way.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import code
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined
from converter.lightning_code.layout import kwarg
from converter.templating import expr, fill

SCALING = {
    "accelerator": "--accelerator",
    "devices": "--devices",
    "num_nodes": "--num-nodes",
    "precision": "--precision",
}


def flag_imports(flags: list[cst.BaseStatement]) -> set[str]:
    """`os` where a flag's default reads what torchrun sets (`LOCAL_WORLD_SIZE`): started by
    torchrun without --devices, the script then runs as one of its processes, not a world of
    its own each (Lightning's devices="auto" is one CPU)."""
    return {"os"} if any("os.environ" in code(f) for f in flags) else set()


def scaling_flags(
    index: SourceIndex,
    binding: cst.SimpleStatementLine,
    namespace: str,
    present,
    flags: dict[str, str] = SCALING,
    templates: tuple[str, ...] = ("trainer_flags",),
) -> tuple[list[cst.BaseStatement], list[cst.Arg]]:
    """The `parser.add_argument(...)` statements to insert before `args = parser.parse_args()`
    (the first one taking over its leading lines) and the keyword arguments that read them, for
    each option in `flags` (option -> flag, in the templates' order) not `present` already. None
    when the script has one of these flags of its own."""
    parser = binding.body[0].value.func.value
    existing = {
        s.evaluated_value
        for s in index.nodes(cst.SimpleString)
        if "--" in s.value  # the raw text first: evaluating every string of a script is slow
        and isinstance(s.evaluated_value, str)
        and s.evaluated_value.startswith("--")
    }
    if any(flag in existing for flag in flags.values()):
        return [], []
    wanted = [option not in present for option in flags]  # template order
    filled = [statement for name in templates for statement in fill(name, parser=parser)]
    statements = [f for f, keep in zip(filled, wanted) if keep]
    if statements:
        statements[0] = statements[0].with_changes(leading_lines=binding.leading_lines)
    arguments = [
        kwarg(option, expr(f"{namespace}.{option}")) for option in flags if option not in present
    ]
    return statements, arguments


DEVICES = 'int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("SLURM_NTASKS_PER_NODE", 1)))'


NUM_NODES = (
    'int(os.environ.get("SLURM_NNODES", int(os.environ.get("WORLD_SIZE", 1))'
    ' // int(os.environ.get("LOCAL_WORLD_SIZE", 1))))'
)


def precision_option(index: SourceIndex, call: cst.Call) -> cst.BaseExpression:
    """The Trainer precision that does what this autocast call does."""
    args = {
        a.keyword.value if a.keyword else ("device_type" if i == 0 else "?"): a.value
        for i, a in enumerate(call.args)
    }
    if "?" in args:
        raise Declined(index.line(call), "autocast with unusual positional arguments")
    cuda_only = index.resolves_to(call.func, "torch.cuda.amp.autocast")
    device = args.get("device_type")
    if device is not None and not isinstance(device, cst.SimpleString):
        raise Declined(index.line(call), "autocast on a device chosen at run time")
    device_name = "cuda" if cuda_only else device.evaluated_value if device is not None else "cpu"
    dtype = args.get("dtype")
    if dtype is None:
        mixed = "16-mixed" if device_name == "cuda" else "bf16-mixed"
    elif index.resolves_to(dtype, "torch.float16", "torch.half"):
        mixed = "16-mixed"
    elif index.resolves_to(dtype, "torch.bfloat16"):
        mixed = "bf16-mixed"
    else:
        raise Declined(index.line(call), "autocast to a dtype Lightning has no precision for")
    condition = []
    if "enabled" in args:
        condition.append(code(args["enabled"]))
    if device_name == "cuda":
        condition.append("torch.cuda.is_available()")
    elif device_name != "cpu":
        raise Declined(index.line(call), f"autocast on {device_name}")
    if not condition:
        return cst.SimpleString(f'"{mixed}"')
    return cst.parse_expression(f'"{mixed}" if {" and ".join(condition)} else "32-true"')
