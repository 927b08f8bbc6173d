"""`verify --cuda-on-cpu`: run a script that hard-codes CUDA (`model.cuda()`, `x.cuda()`,
`torch.cuda.FloatTensor`) on a machine without a GPU, in both runs, so that it can be compared
with its conversion at all:

- `tensor.cuda()`: a copy on the CPU. On a GPU it is a copy too: writes to it do not reach the
  original tensor, and gradients flow back through it (a leaf's `.cuda()` is not a leaf);
- `module.cuda()`: the module itself, as on a GPU (its parameters move in place there);
- `torch.cuda.FloatTensor` and the other legacy CUDA tensor types: the CPU types;
- `torch.cuda.set_device(...)`: nothing.

`torch.cuda.is_available()` stays False, so a script that asks takes its CPU branch as before,
and `.to("cuda")` is left alone (a script that names the device still fails, with torch's own
message). The conversion runs under the same shim as the original: what verify compares is still
the conversion against the original, both on the CPU.
"""

from __future__ import annotations

_TENSOR_TYPES = (
    "FloatTensor",
    "DoubleTensor",
    "HalfTensor",
    "BFloat16Tensor",
    "ByteTensor",
    "CharTensor",
    "ShortTensor",
    "IntTensor",
    "LongTensor",
    "BoolTensor",
)


def install() -> list[str]:
    import torch

    def tensor_cuda(self, device=None, non_blocking=False, **kwargs):
        return self.to("cpu", copy=True)

    def module_cuda(self, device=None):
        return self

    torch.Tensor.cuda = tensor_cuda
    torch.nn.Module.cuda = module_cuda
    for name in _TENSOR_TYPES:
        if hasattr(torch, name):
            setattr(torch.cuda, name, getattr(torch, name))
    torch.cuda.set_device = lambda device: None
    return ["tensor.cuda()", "module.cuda()", "torch.cuda.FloatTensor", "torch.cuda.set_device"]
