"""Which expressions are tensors, as far as the code shows without running it.

A name is a tensor when every binding of it is: a call of one of torch's tensor functions
(`torch.randn`, `torch.tensor`, `torch.linspace`...), `Variable(t)`, arithmetic, comparison or
indexing on a tensor, or a tensor method that returns a tensor (`x.pow(2)`, `x.float()`).
Anything else (a call of the script's own function, `torch.load`, a loop variable) is not known
to be one, and the conversion then leaves it alone.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import assigned_value, bindings
from converter.analysis.index import SourceIndex

# torch functions that return a new tensor (creation, shaping, arithmetic)
_TORCH_TENSOR_FUNCTIONS = frozenset(
    """tensor as_tensor from_numpy zeros ones full empty rand randn randint randperm arange
    linspace logspace eye zeros_like ones_like full_like empty_like rand_like randn_like
    randint_like cat stack hstack vstack unsqueeze squeeze reshape flatten transpose t matmul mm
    bmm abs exp log sqrt sin cos tanh sigmoid relu softmax log_softmax where clamp sum mean max
    min normal bernoulli multinomial sort argsort argmax argmin one_hot""".split()
)
# tensor methods that return something else
_NOT_TENSOR_METHODS = frozenset(
    "item tolist numpy size dim numel element_size is_contiguous".split()
)
_CREATING = frozenset(
    "tensor as_tensor from_numpy zeros ones full empty rand randn randint randperm arange "
    "linspace logspace eye normal bernoulli".split()
)


def creates_tensor(index: SourceIndex, call: cst.Call) -> bool:
    """A torch call that makes a new tensor from sizes or data (not from another tensor), on
    the CPU unless given a device."""
    return any(
        name.startswith("torch.") and name.split(".")[-1] in _CREATING and name.count(".") == 1
        for name in index.qualified_names(call)
    )


def is_tensor_name(index: SourceIndex, scope, name: str, seen: frozenset = frozenset()) -> bool:
    found = bindings(index, scope, name)
    if not found or name in seen:
        return False
    values = [assigned_value(statement, name) for statement in found]
    return all(
        value is not None and is_tensor(index, scope, value, seen | {name}) for value in values
    )


def is_tensor(index: SourceIndex, scope, value: cst.BaseExpression, seen=frozenset()) -> bool:
    if isinstance(value, cst.Name):
        return is_tensor_name(index, scope, value.value, seen)
    if isinstance(value, cst.BinaryOperation):
        return is_tensor(index, scope, value.left, seen) or is_tensor(
            index, scope, value.right, seen
        )
    if isinstance(value, cst.UnaryOperation):
        return is_tensor(index, scope, value.expression, seen)
    if isinstance(value, cst.Comparison):  # `x[:, 0] > 0`: a tensor of booleans
        sides = [value.left, *(c.comparator for c in value.comparisons)]
        return any(is_tensor(index, scope, side, seen) for side in sides)
    if isinstance(value, cst.Subscript):
        return is_tensor(index, scope, value.value, seen)
    if not isinstance(value, cst.Call):
        return False
    func = value.func
    for name in index.qualified_names(value):
        parts = name.split(".")
        if parts[0] == "torch" and len(parts) == 2 and parts[1] in _TORCH_TENSOR_FUNCTIONS:
            return True
        if name == "torch.autograd.Variable" or name.endswith(".Variable"):
            return bool(value.args) and is_tensor(index, scope, value.args[0].value, seen)
    if isinstance(func, cst.Attribute) and func.attr.value not in _NOT_TENSOR_METHODS:
        return is_tensor(index, scope, func.value, seen)
    return False
