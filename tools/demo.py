#!/usr/bin/env python
"""The CPU demo (`make demo`): FCOS needs NMS, o2f does not. The code is :mod:`o2f_det.demo`.

    python tools/demo.py [--work-dir work_dirs/demo] [--epochs 24] [--num-train 400]
                         [--num-val 100] [--size 160] [--seed 0] [--quick]
"""

import sys

from o2f_det.demo import main

if __name__ == '__main__':
    sys.exit(main())
