"""The item loader: a batch loop over plain items (a list, a dict, a range of offsets, a zip of
those) gets a DataLoader that hands them over one per step, unchanged; items drawn from
loaders, or changed by the loop, are declined."""

import pytest

from tests.patterns.snippets import convert, declined, hook

ITEMS = """\
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
X = torch.randn(32, 4)
pairs = [(torch.randn(4), torch.randn(1)) for _ in range(4)]
loader = torch.utils.data.DataLoader(X, batch_size=8, shuffle=True)
{setup}
for epoch in range(2):
{epoch_start}
    for {target} in {items}:
        optimizer.zero_grad()
        loss = model({use}).pow(2).mean()
        loss.backward()
        optimizer.step()
"""


def items_script(items, target="x, y", use="x", setup="", epoch_start=""):
    return ITEMS.format(
        items=items, target=target, use=use, setup=setup, epoch_start="    " + epoch_start
    )


@pytest.mark.parametrize(
    "items, target, use, setup",
    [
        ("pairs", "x, y", "x", ""),
        ("[(X[0], 1), (X[1], 2)]", "x, y", "x", ""),
        ("range(0, len(X), 8)", "i", "X[i : i + 8]", ""),
        ("zip(xs, ys)", "x, y", "x", "xs = list(X)\nys = [1, 2]"),
        ("zip(X, X)", "x, y", "x", ""),
        ("table.items()", "key, x", "x", "table = {'a': X[0], 'b': X[1]}"),
        ("[p for p in pairs if p]", "x, y", "x", ""),
    ],
    ids=[
        "name bound to a list",
        "literal",
        "range of offsets",
        "zip of lists",
        "zip of tensors",
        "dict items",
        "comprehension",
    ],
)
def test_plain_items_get_a_one_item_per_step_loader(items, target, use, setup):
    result = convert(items_script(items, target, use, setup))
    assert not declined(result), result.report.text()
    assert "batch_size=None, collate_fn=lambda item: item" in result.code
    assert "generator=torch.Generator()" in result.code  # draws nothing from the global seed
    assert hook(result, "training_step") is not None


def test_the_loader_keeps_the_items_own_name():
    result = convert(items_script("pairs"))
    assert "pairs_loader = torch.utils.data.DataLoader(\n    list(pairs)," in result.code


def test_a_loader_is_still_a_loader():
    result = convert(items_script("loader", target="x"))
    assert not declined(result), result.report.text()
    assert "collate_fn=lambda item: item" not in result.code


@pytest.mark.parametrize(
    "items, target, setup",
    [
        ("zip(loader, loader)", "x, y", ""),
        ("list(loader)", "x", ""),
        ("[b for b in loader]", "x", ""),
        ("zip(loader, other)", "x, y", "other = list(X)"),
    ],
    ids=["zip of loaders", "list of a loader", "comprehension over a loader", "zip with a loader"],
)
def test_items_drawn_from_a_loader_are_not_plain(items, target, setup):
    # made into a list once, they would keep the first epoch's shuffle for every epoch
    result = convert(items_script(items, target=target, setup=setup))
    assert "loader variable" in declined(result)


@pytest.mark.parametrize(
    "change",
    ["random.shuffle(pairs)", "pairs.append(pairs[0])", "pairs = pairs[::-1]", "pairs.sort()"],
)
def test_items_the_loop_changes_are_declined(change):
    source = "import random\n" + items_script("pairs", epoch_start=change)
    assert "which the training loop changes" in declined(convert(source))


def test_items_the_loop_only_reads_are_fine():
    source = items_script("pairs", epoch_start="print(len(pairs))")
    assert not declined(convert(source))


def test_a_loader_rebuilt_each_epoch_is_declined():
    # fit would take the loader made before the loop, not each epoch's
    rebuild = "loader = torch.utils.data.DataLoader(X, batch_size=4)"
    source = items_script("loader", target="x", epoch_start=rebuild)
    assert "iterates over `loader`, which the training loop changes" in declined(convert(source))
