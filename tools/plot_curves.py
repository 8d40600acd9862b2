#!/usr/bin/env python
"""Fig. 5: AP after every epoch without NMS (solid) and with NMS (dashed), T, and the losses.

``python tools/plot_curves.py WORK_DIR [WORK_DIR ...] --out fig5.png [--metric coco/bbox_mAP]``
reads mmengine's scalar logs of each training work directory. Train with
``--dual-nms-val`` (or ``val_cfg=dict(type='O2FDualNMSValLoop')``) to log both AP sets from one
validation pass. The logic is :mod:`o2f_core.curves`.
"""

import sys

from o2f_core.curves import main

if __name__ == '__main__':
    sys.exit(main())
