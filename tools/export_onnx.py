#!/usr/bin/env python
"""Export an NMS-free o2f detector to ONNX and check it in onnxruntime (and OpenCV DNN).

    python tools/export_onnx.py CONFIG CHECKPOINT [--out model.onnx] [--variant {end2end,raw}]
                                [--size H W] [--max-det 100] [--tolerance 1e-4] [--no-check]

The graph takes ``image`` (B, 3, H, W) float32 RGB pixel values in [0, 255]; batch, height and
width are dynamic (H and W multiples of the config's ``pad_size_divisor``; ``--size`` is only the
tracing and check size). Normalisation and box decoding are inside the graph; there is no NMS op.

* ``--variant end2end`` (default): ``boxes`` (B, max_det, 4) xyxy clipped to the image, ``scores``
  (B, max_det) joint scores ``sigmoid(cls) * sigmoid(ctr)`` descending, ``labels`` (B, max_det)
  int64: the best ``max_det`` (point, class) pairs, K a graph constant (as TensorRT needs). Rows
  below ``test_cfg.score_thr`` are padding (mmdet's predict drops them).
* ``--variant raw``: ``boxes`` (B, N, 4) and ``scores`` (B, N, C) for all N points, no TopK and
  no data-dependent op (OpenCV DNN, NCNN, RKNN); the caller takes the top-k.

The check (default on) runs the graph at two sizes with batch 2 in onnxruntime against the same
graph in PyTorch and the detector's own ``predict`` (rows above ``score_thr``), and the raw
variant also in OpenCV DNN against onnxruntime; it fails (exit 1) beyond ``--tolerance``. The file
becomes ``--out`` only once the check has passed (an older file there stays as it was). Bad input
(an ``--opset`` outside the exporter's range, ``--max-det`` below 1, an ``--out`` that is a folder,
under a file, or the config/checkpoint, a wrong checkpoint): one error line, exit 2, no file.
The code lives in ``o2f_det.deploy`` (``onnx_export``, ``export_cli``).
"""

import sys

from o2f_det.deploy.export_cli import main

if __name__ == '__main__':
    sys.exit(main())
