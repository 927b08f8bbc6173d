"""What names are bound to at a training site: the optimizer call, the model's constructor, device
moves, the epoch range. Small read-only helpers of the planner and the patterns."""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined
from converter.analysis.walk import find

_DEVICE_METHODS = ("to", "cuda", "cpu")


def optimizer_names(index: SourceIndex, scope) -> set[str]:
    """Names bound to optimizers or LR schedulers, in the site's scope and at module level."""
    names = set()
    for where in {scope, index.body_scope(None)}:
        for name in scope_names(where):
            call = assigned_call(single_binding(index, where, name), name)
            if call is not None and (
                is_optimizer(index, call) or index.resolves_to(call.func, "torch.optim")
            ):
                names.add(name)
    return names


def is_statement_of(index: SourceIndex, call: cst.Call, block) -> bool:
    """Whether `call` is a whole statement directly in `block` (not nested in an if, a closure)."""
    return any(
        isinstance(s, cst.SimpleStatementLine)
        and len(s.body) == 1
        and isinstance(s.body[0], cst.Expr)
        and s.body[0].value is call
        for s in block
    )


def call_statement(statement: cst.BaseStatement) -> cst.Call | None:
    """The call of a statement that is only a call: `f(...)`."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    expr = statement.body[0]
    if not isinstance(expr, cst.Expr) or not isinstance(expr.value, cst.Call):
        return None
    return expr.value


def method_call(statement: cst.BaseStatement) -> tuple[cst.BaseExpression, str, cst.Call] | None:
    """`receiver.method(...)` as a whole statement: (receiver, method, call)."""
    call = call_statement(statement)
    if call is None or not isinstance(call.func, cst.Attribute):
        return None
    return call.func.value, call.func.attr.value, call


def code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def every_k_batches(statement, index_name: str | None) -> cst.BaseExpression | None:
    """k in `if (i + 1) % k == 0:` where i is the batch index."""
    if index_name is None or not isinstance(statement, cst.If):
        return None
    pattern = m.Comparison(
        left=m.BinaryOperation(
            left=m.BinaryOperation(left=m.Name(index_name), operator=m.Add(), right=m.Integer("1")),
            operator=m.Modulo(),
        ),
        comparisons=[m.ComparisonTarget(m.Equal(), m.Integer("0"))],
    )
    return statement.test.left.right if m.matches(statement.test, pattern) else None


def is_range_loop(loop: cst.For) -> bool:
    return m.matches(loop.iter, m.Call(func=m.Name("range")))


def assigned_locally(index: SourceIndex, function: cst.FunctionDef, name: str) -> bool:
    scope = index.body_scope(function)
    return any(
        a.scope is scope and not isinstance(a.node, cst.Param) for a in scope.assignments[name]
    )


def is_param(function: cst.FunctionDef, name: str) -> bool:
    return any(p.name.value == name for p in function.params.params + function.params.kwonly_params)


def is_main_guard(node: cst.If) -> bool:
    return m.matches(
        node.test,
        m.Comparison(left=m.Name("__name__"), comparisons=[m.ComparisonTarget(m.Equal())]),
    )


def split_around(block, statement):
    block = list(block)
    i = block.index(statement)
    return block[:i], block[i + 1 :]


def block_of(index: SourceIndex, statement: cst.BaseStatement) -> list[cst.BaseStatement]:
    parent = index.parent(statement)
    return list(parent.body)


def calls_of(index: SourceIndex, function: cst.FunctionDef):
    """(statement, call) for each call of a module-level function."""
    return [
        (index.enclosing_statement(node), node)
        for node in index.nodes(cst.Call)
        if isinstance(node.func, cst.Name) and node.func.value == function.name.value
    ]


def module_reads(index: SourceIndex, name: str) -> list:
    """Every read (an Access) of the module-level ``name``, in any scope."""
    module = index.body_scope(None)
    return [
        access
        for scope in index.scopes()
        for access in scope.accesses[name]
        if scope.lookup(name) is module
    ]


def bindings(index: SourceIndex, scope, name: str) -> list[cst.BaseStatement]:
    statements = []
    seen: set[int] = set()  # by identity: a name bound thousands of times stays linear
    for assignment in scope.assignments[name]:
        if assignment.scope is scope:
            statement = index.enclosing_statement(assignment.node)
            if isinstance(assignment.node, (cst.FunctionDef, cst.ClassDef)):
                statement = assignment.node
            if statement is not None and id(statement) not in seen:
                seen.add(id(statement))
                statements.append(statement)
    return statements


def single_binding(index: SourceIndex, scope, name: str) -> cst.BaseStatement | None:
    statements = bindings(index, scope, name)
    return statements[0] if len(statements) == 1 else None


def reaching(
    index: SourceIndex, statements: list[cst.BaseStatement], at: cst.CSTNode
) -> cst.BaseStatement | None:
    """Of the statements binding one name, the one whose value `at` reads: the last before it,
    where it always runs before `at` (it is in a block around `at`) and no other binding follows
    it before `at`. A notebook that runs `optimizer = SGD(...)` twice before its loop reads the
    second; a value chosen in branches (`if arch: model = A() else: model = B()`) has none."""
    if len(statements) == 1:
        return statements[0]
    around = set(index.ancestors(at))
    loops = {a for a in around if isinstance(a, (cst.For, cst.While))}
    earlier = []
    for statement in sorted(statements, key=index.order):
        if statement in around:
            return None  # `at` is inside it (a loop binding the name)
        if index.order(statement) < index.order(at):
            earlier.append(statement)
        elif loops.intersection(index.ancestors(statement)):
            return None  # bound again later in a loop around `at`: read again after it
    if not earlier or index.parent(earlier[-1]) not in around:
        return None
    return earlier[-1]


def scope_names(scope):
    return sorted({a.name for a in scope.assignments if a.scope is scope})


def assigned_value(
    statement: cst.BaseStatement | None, name: str | None = None
) -> cst.BaseExpression | None:
    """The value in `name = value` (a statement of that alone), or, given the name, its value in
    `a, name = x, y`. Plain type checks rather than a matcher: every binding of the site goes
    through here."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    assign = statement.body[0]
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
        return None
    target, value = assign.targets[0].target, assign.value
    if isinstance(target, cst.Name):
        return value if name is None or target.value == name else None
    if name is None or not isinstance(target, cst.Tuple) or not isinstance(value, cst.Tuple):
        return None
    if len(target.elements) != len(value.elements):
        return None
    for element, item in zip(target.elements, value.elements):
        if isinstance(element.value, cst.Name) and element.value.value == name:
            return item.value
    return None


def assigned_call(statement: cst.BaseStatement | None, name: str | None = None) -> cst.Call | None:
    """The call in `name = call(...)` (or in `a, name = f(...), call(...)`)."""
    value = assigned_value(statement, name)
    return value if isinstance(value, cst.Call) else None


def bound_names(statement: cst.BaseStatement) -> list[str]:
    """The names `name = ...` / `a, b = ...` binds."""
    value = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
    if not isinstance(value, cst.Assign):
        return []
    return [n.value for t in value.targets for n in find(t.target, cst.Name)]


def strip_device_moves(call: cst.Call) -> cst.Call:
    while (
        isinstance(call.func, cst.Attribute)
        and call.func.attr.value in _DEVICE_METHODS
        and isinstance(call.func.value, cst.Call)
    ):
        call = call.func.value
    return call


def is_device_move_of(statement: cst.BaseStatement, var: str) -> bool:
    """`model.to(device)` or `model = model.to(device)` (also .cuda()/.cpu()). Plain checks: it
    is asked of every statement of the script, for each model."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    small = statement.body[0]
    if isinstance(small, cst.Expr):
        move = small.value
    elif isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        if not (isinstance(target, cst.Name) and target.value == var):
            return False
        move = small.value
    else:
        return False
    func = move.func if isinstance(move, cst.Call) else None
    return (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.value.value == var
        and func.attr.value in _DEVICE_METHODS
    )


#: nn.Module methods that return the module itself (`model = model.train()` rebinds, not creates)
_RETURNS_ITSELF = frozenset(
    "train eval float double half bfloat16 requires_grad_ share_memory".split()
)


def returns_itself(statement: cst.BaseStatement, var: str) -> bool:
    """`model = model.train()`, `model = model.eval()`, `model = model.float()`: the same
    module bound again, not another one."""
    value = assigned_value(statement, var)
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and isinstance(value.func.value, cst.Name)
        and value.func.value.value == var
        and value.func.attr.value in _RETURNS_ITSELF
    )


def device_moves_at_site(index: SourceIndex, scope, var: str) -> list[cst.BaseStatement]:
    return [
        node
        for node in index.nodes(cst.SimpleStatementLine)
        if is_device_move_of(node, var) and index.scope(node) is scope
    ]


def is_optimizer(index: SourceIndex, call: cst.Call) -> bool:
    if index.resolves_to(call.func, "torch.optim") and not index.resolves_to(
        call.func, "torch.optim.lr_scheduler", "torch.optim.swa_utils"
    ):
        return True
    first = call.args[0].value if call.args else None
    return parameters_root(first) is not None if first is not None else False


def calls(node: cst.CSTNode) -> list[cst.Call]:
    return find(node, cst.Call)


def parameters_root(node: cst.CSTNode | None) -> str | None:
    """`model.parameters()` / `model.fc.parameters()` / `model.named_parameters()` -> "model"."""
    if not (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in ("parameters", "named_parameters")
    ):
        return None
    value = node.func.value
    while isinstance(value, cst.Attribute):
        value = value.value
    return value.value if isinstance(value, cst.Name) else None


def epoch_range(index: SourceIndex, loop: cst.For, counted: cst.Call | None = None):
    """(first epoch number, number of epochs) from `range(stop)` / `range(start, stop)`: the
    loop's own iterable, or the range a pattern found it counts (`counted`)."""
    it = loop.iter if counted is None else counted
    is_range = m.matches(it, m.Call(func=m.Name("range")))
    if is_range and len(it.args) == 3:
        raise Declined(
            index.line(loop),
            f"the epoch loop's `{code(it)}` has a step: the Trainer counts epochs one by one",
        )
    if not (
        is_range
        and 1 <= len(it.args) <= 2
        and all(a.keyword is None and not a.star for a in it.args)
    ):
        raise Declined(
            index.line(loop),
            f"the epoch loop iterates `{code(it)}`, not `range(...)`: the Trainer needs the "
            "number of epochs",
        )
    if len(it.args) == 1:
        return None, it.args[0].value
    start, stop = it.args[0].value, it.args[1].value
    if m.matches(start, m.Integer("0")):
        return None, stop
    if m.matches(start, m.Integer()) and m.matches(
        stop, m.BinaryOperation(operator=m.Add(), right=m.Integer(start.value))
    ):
        return start, stop.left
    if m.matches(start, m.Integer()) and m.matches(stop, m.Integer()):
        return start, cst.Integer(str(int(stop.value) - int(start.value)))
    return start, cst.BinaryOperation(stop, cst.Subtract(), start)


def functions_called(index: SourceIndex, nodes: list[cst.CSTNode]) -> list[cst.FunctionDef]:
    """The module-level functions of the script that `nodes` call by name, directly or through
    each other, in source order."""
    functions = {s.name.value: s for s in index.module.body if isinstance(s, cst.FunctionDef)}
    found: dict[str, cst.FunctionDef] = {}
    pending = [
        c.func.value for n in nodes for c in find(n, cst.Call) if isinstance(c.func, cst.Name)
    ]
    while pending:
        name = pending.pop()
        function = functions.get(name)
        if function is None or name in found:
            continue
        found[name] = function
        pending += [
            c.func.value for c in find(function.body, cst.Call) if isinstance(c.func, cst.Name)
        ]
    return sorted(found.values(), key=index.line)
