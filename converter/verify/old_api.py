"""`verify --old-torch-api`: two spellings of PyTorch before 0.4 that many tutorials still use,
restored in both runs, so that such a script and its conversion can be compared at all:

- `loss.data[0]` (and `loss[0]`) on a 0-dimensional tensor: the value, as a Python number, as it
  was when a loss was a one-element tensor;
- `iter(loader).next()`: Python 2's name for `next(iterator)`.

Nothing else changes; the conversion runs under the same shim as the original, so what verify
compares is still the conversion against the original.
"""

from __future__ import annotations


def install() -> list[str]:
    import torch
    from torch.utils.data.dataloader import _BaseDataLoaderIter

    index = torch.Tensor.__getitem__

    def getitem(self, key):
        if type(key) is int and key in (0, -1) and self.dim() == 0:
            return self.item()
        return index(self, key)

    torch.Tensor.__getitem__ = getitem
    _BaseDataLoaderIter.next = _BaseDataLoaderIter.__next__
    return ["loss.data[0] on a 0-dim tensor", "iterator.next()"]
