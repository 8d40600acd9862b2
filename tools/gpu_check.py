#!/usr/bin/env python
"""Check a GPU machine in at most ~10 minutes: versions, mmcv CUDA ops, 50 training iterations of
configs/det/o2f_r50_1x.py at 800x1333 (fp32 and --amp), o2f vs FCOS inference FPS, 1-process
nccl DDP. Writes work_dirs/gpu_check/gpu_check.{json,md}. See README.md, "GPU".

Usage::

    python tools/gpu_check.py [--out-dir DIR] [--only versions,mmcv_ops,...] [--dry-run]

Without a CUDA GPU it exits 2 with one line; ``--dry-run`` runs the same checks on CPU, tiny.
"""

import sys

from o2f_det.gpu_check import main

if __name__ == '__main__':
    sys.exit(main())
