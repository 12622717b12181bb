"""What this machine offers the package: the native core's instruction sets and ONNX Runtime's
execution providers."""
from __future__ import annotations

from .. import _core

__all__ = ["isa_info"]

def isa_info() -> dict:
    """Describe the instruction sets and ONNX Runtime providers this machine offers.

    Returns
    -------
    dict
        ``detected`` (the best instruction set this CPU runs), ``active`` (the one in use; set
        ``RANDCNN_FAST_ISA=scalar|avx2|avx512`` to override), ``compiled`` (built in),
        ``supported`` (compiled and runnable here), ``bf16`` (whether precision "bf16" runs
        bfloat16 kernels here), ``bf16_mode`` (``RANDCNN_FAST_BF16=auto|native|fp32``: where
        they pay, wherever the CPU has them, never) and ``bf16_reason`` (what "bf16" runs and
        why), the active register ``tile``, and the ONNX Runtime
        ``onnx_providers`` available (empty without onnxruntime).

    Examples
    --------
    >>> info = isa_info()
    >>> info["active"] in info["supported"]
    True
    >>> "onnx_providers" in info
    True
    """
    from .onnx_runtime import available_providers

    return {**_core.isa_info(), "onnx_providers": available_providers()}
