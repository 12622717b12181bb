"""Backends that run a network: the native SIMD core and ONNX Runtime."""
