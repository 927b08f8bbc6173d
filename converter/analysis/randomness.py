"""Calls that draw from torch's global (default CPU) random generator, or reseed it.

Every DataLoader iterator draws its base seed from that generator when it starts (and a shuffling
sampler its own seed at the first batch), unless the loader was given a `generator=` of its own.
Code that the conversion moves across the start of a loader's iterator therefore changes which
numbers each draw gets: the shuffled batches, the noise, the initial weights.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import functions_called
from converter.analysis.index import SourceIndex
from converter.analysis.walk import find

# torch functions that draw from the default generator unless handed a `generator=`
_DRAWING = frozenset(
    """rand rand_like randn randn_like randint randint_like randperm normal bernoulli
    multinomial poisson dropout alpha_dropout feature_alpha_dropout rrelu""".split()
)
_RESEEDING = (
    "torch.manual_seed",
    "torch.seed",
    "torch.set_rng_state",
    "torch.random.manual_seed",
    "torch.random.seed",
    "torch.random.set_rng_state",
    "pytorch_lightning.seed_everything",
    "lightning.seed_everything",
    "lightning.pytorch.seed_everything",
    "lightning.fabric.seed_everything",
)
_INITIALISING = ("torch.nn.init",)  # every initialiser that samples (uniform_, kaiming_normal_...)
# tensor methods that fill the tensor with random numbers in place
_FILLING = frozenset(
    "random_ uniform_ normal_ bernoulli_ exponential_ geometric_ cauchy_ log_normal_".split()
)


def global_random_calls(index: SourceIndex, nodes: list[cst.CSTNode]) -> list[cst.Call]:
    """The calls in `nodes`, and in the script's functions they call, that draw from torch's
    global generator or reseed it (a call handed its own `generator=` does not)."""
    scanned = [*nodes, *(f.body for f in functions_called(index, nodes))]
    return [call for node in scanned for call in find(node, cst.Call) if _uses_global(index, call)]


def _uses_global(index: SourceIndex, call: cst.Call) -> bool:
    if any(arg.keyword is not None and arg.keyword.value == "generator" for arg in call.args):
        return False
    if index.resolves_to(call.func, *_RESEEDING, *_INITIALISING):
        return True
    if any(
        name.split(".")[-1] in _DRAWING
        and name.startswith(("torch.", "torch.nn.functional."))
        and name.count(".") <= 3
        for name in index.qualified_names(call)
    ):
        return True
    return isinstance(call.func, cst.Attribute) and call.func.attr.value in _FILLING
