"""Small scripts around one pattern: a tiny training loop with the snippet put in its place, and
readers for the parts of the conversion a pattern test looks at (a hook's body, the Trainer's
options, the decline reason)."""

from __future__ import annotations

import textwrap

import libcst as cst
import libcst.matchers as m

from converter import ConversionResult, convert_source

STEP = """\
optimizer.zero_grad()
loss = model(x).pow(2).mean()
loss.backward()
optimizer.step()
"""

SCRIPT = """\
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
{setup}
for epoch in range(2):
{epoch_start}
    for i, x in enumerate(loader):
{batch}
{epoch_end}
"""


def script(batch: str = STEP, setup: str = "", epoch_start: str = "", epoch_end: str = "") -> str:
    """The tiny loop, with `batch` as the batch loop's body and the other parts around it."""
    return SCRIPT.format(
        setup=setup,
        epoch_start=textwrap.indent(epoch_start, "    "),
        batch=textwrap.indent(batch, "        "),
        epoch_end=textwrap.indent(epoch_end, "    "),
    )


def convert(source: str) -> ConversionResult:
    return convert_source(textwrap.dedent(source), filename="snippet.py")


def declined(result: ConversionResult) -> str:
    """The decline reasons, joined ("" when it converted)."""
    return " | ".join(entry.message for entry in result.report.declined)


def hook(result: ConversionResult, name: str) -> str | None:
    """The body of a generated method, dedented (None when there is no such method)."""
    module = cst.parse_module(result.code)
    for method in m.findall(module, m.FunctionDef(name=m.Name(name))):
        body = cst.Module(body=method.body.body).code
        return textwrap.dedent(body).strip()
    return None


def trainer_options(result: ConversionResult) -> dict[str, str]:
    """`Trainer(...)`'s keyword arguments, as written."""
    module = cst.parse_module(result.code)
    calls = m.findall(module, m.Call(func=m.Attribute(attr=m.Name("Trainer"))))
    assert len(calls) == 1, result.code
    return {arg.keyword.value: module.code_for_node(arg.value) for arg in calls[0].args}


def changes(result: ConversionResult) -> list[str]:
    return [f"{entry.kind}: {entry.message}" for entry in result.report.changed]
