"""Deployment: ONNX export (``onnx_export``), image/video inference (``inference``) and the
onnxruntime latency benchmark (``benchmark``). Imported explicitly (onnx is an optional extra)."""
