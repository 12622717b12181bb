"""What this machine offers the package: the native core's instruction sets and ONNX Runtime's
execution providers."""
from __future__ import annotations

from .. import _core


def isa_info() -> dict:
    """The instruction sets: ``detected`` (best this CPU runs), ``active`` (in use; set
    RANDCNN_FAST_ISA=scalar|avx2|avx512 to override), ``compiled`` (built in), ``supported``
    (compiled and runnable here), the active register ``tile``, and the ONNX Runtime
    ``onnx_providers`` available (empty without onnxruntime)."""
    from .onnx_runtime import available_providers

    return {**_core.isa_info(), "onnx_providers": available_providers()}
