#!/usr/bin/env python
"""onnxruntime CPU latency: NMS-free o2f ``end2end`` vs FCOS with NMS inside the graph.

    python tools/benchmark_deploy.py [--o2f-config configs/det/o2f_r50_1x.py]
                                     [--fcos-config configs/det/fcos_r50_1x.py]
                                     [--size 800 1344] [--runs 5] [--threads 2]

Random-init R50 detectors (latency does not depend on training), median of ``--runs`` runs with
2 onnxruntime threads, on an ordinary scene (few candidates above score_thr) and a crowded one
(many). Prints per scene both latencies, the post-process share of each and the o2f / FCOS ratio.
The code is ``o2f_det.deploy.benchmark``.
"""

import sys

from o2f_det.deploy.benchmark import main

if __name__ == '__main__':
    sys.exit(main())
