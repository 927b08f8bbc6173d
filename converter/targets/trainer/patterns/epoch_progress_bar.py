"""An epoch loop over a progress bar: `for epoch in tqdm(range(n))`, `for epoch in trange(n)`.

The bar only draws; the loop runs the epochs of the range inside it (`trange(*args)` is
`tqdm(range(*args))`), so the Trainer gets that range's epochs. Lightning draws its own progress
bar, and the script's bar goes with the loop it was around (the `tqdm` import too, when nothing
else reads it). A bar held in a variable (`bar = tqdm(range(n))`) is not taken: code inside the
loop may update it.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import code
from converter.analysis.index import SourceIndex
from converter.analysis.loops import TRANGES, is_progress_bar_call
from converter.analysis.site import Declined, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Example, Pattern

_RANGE = m.Call(func=m.Name("range"))


class EpochProgressBar(Pattern):
    name = "epoch-progress-bar"
    example = Example(
        shape="`for epoch in tqdm(range(n))`, `for epoch in trange(n)`",
        becomes="the range's epochs, `Trainer(max_epochs=n)`: Lightning draws its own bar",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset
        from tqdm import trange

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in trange(5, desc="epochs"):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
        """,
        after="""
        trainer = pl.Trainer(max_epochs=5)
        """,
    )

    def epochs(self, loop: cst.For, index: SourceIndex) -> cst.Call | None:
        bar = loop.iter
        if is_progress_bar_call(index, bar) and m.matches(bar.args[0].value, _RANGE):
            _check_options(index, loop, bar.args[1:])
            return bar.args[0].value
        if not (isinstance(bar, cst.Call) and index.resolves_to(bar.func, *TRANGES)):
            return None
        _check_options(index, loop, [a for a in bar.args if a.keyword is not None])
        counts = [a for a in bar.args if a.keyword is None]
        if not counts or any(a.star for a in counts):
            return None
        last = counts[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return cst.Call(func=cst.Name("range"), args=[*counts[:-1], last])

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        loop = site.epoch.loop
        if loop is not None and self.epochs(loop, index) is not None:
            report.change(
                "trainer",
                index.line(loop),
                f"the progress bar over the epochs (`{code(loop.iter)}`) is dropped: "
                "Lightning draws its own",
            )


def _check_options(index: SourceIndex, loop: cst.For, options: list[cst.Arg]) -> None:
    """The bar goes with the loop, and its options with it: one that calls something
    (`file=open("epochs.log", "w")`) would no longer run."""
    for option in options:
        if find(option.value, cst.Call):
            raise Declined(
                index.line(loop),
                f"the progress bar over the epochs is given `{code(option.value)}`, which the "
                "conversion would drop with the loop",
            )


PATTERN = EpochProgressBar()
