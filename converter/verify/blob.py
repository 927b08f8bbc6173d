"""Tensors written as raw native bytes, for a parent process that never imports torch.

Runs inside a verify child process. A :class:`Blob` is one ``.bin`` file; :meth:`Blob.add` appends
a tensor and returns the JSON entry that finds it again (``format`` is an :mod:`array` type code,
``offset`` and ``nbytes`` locate the bytes). Floats keep their exact values: float64 stays ``d``,
every other float widens to an exact float32 ``f`` (half and bfloat16 widen without rounding);
integers and booleans become int64 ``q``; complex numbers are split in two.
"""

from __future__ import annotations

import struct

import torch


def raw(t: torch.Tensor) -> tuple[bytes, str]:
    """A tensor's values as native bytes and their :mod:`array` type code."""
    t = t.detach().cpu()
    if t.is_complex():
        t = torch.view_as_real(t)
    if t.dtype == torch.float64:
        code, dtype = "d", torch.float64
    elif t.is_floating_point():
        code, dtype = "f", torch.float32
    else:  # integer counts (BatchNorm's num_batches_tracked, Adam's step on old torch), masks
        code, dtype = "q", torch.int64
    t = t.to(dtype).contiguous().reshape(-1)
    try:
        return t.numpy().tobytes(), code
    except (RuntimeError, TypeError):  # torch built without numpy
        return struct.pack(f"={t.numel()}{code}", *t.tolist()), code


class Blob:
    """Appends tensors to one file; each :meth:`add` says where its bytes are."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._out = open(path, "wb")  # noqa: SIM115 - closed by close()
        self._offset = 0

    def add(self, t: torch.Tensor) -> dict:
        data, code = raw(t)
        self._out.write(data)
        entry = {
            "shape": list(t.shape),
            "dtype": str(t.dtype).split(".")[-1],
            "device": t.device.type,
            "format": code,
            "offset": self._offset,
            "nbytes": len(data),
        }
        self._offset += len(data)
        return entry

    def close(self) -> None:
        self._out.close()

    def __enter__(self) -> Blob:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
