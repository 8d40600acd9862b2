#!/usr/bin/env python
"""Pictures of what o2f changes: ``detections`` (GT vs detectors without NMS) and ``score-maps``
(the paper's Fig. 6). The code is :mod:`o2f_det.visualization`; ``--help`` lists the options.

    python tools/visualize.py detections --config CFG_A --checkpoint CKPT_A --name FCOS \
        --config CFG_B --checkpoint CKPT_B --name o2f --out-dir work_dirs/demo
    python tools/visualize.py score-maps --config configs/det/o2f_demo_cpu.py \
        --checkpoint epoch_1.pth --epoch 1 --checkpoint epoch_12.pth --epoch 12 \
        --max-epochs 12 --out-dir work_dirs/demo
"""

import sys

from o2f_det.visualization import main

if __name__ == '__main__':
    sys.exit(main())
