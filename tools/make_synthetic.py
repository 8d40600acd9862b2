#!/usr/bin/env python
"""Write the synthetic shapes dataset (COCO json + PNG, CrowdHuman .odgt + JPEG).

    python tools/make_synthetic.py --out data/synthetic --seed 0 --num-train 400 --num-val 100 \
        --size 192 192 [--num-classes 3] [--overwrite]

The code, layout and conventions are in :mod:`o2f_core.synthetic`. Same arguments, same bytes.
``--overwrite`` replaces only a dataset this tool wrote; anything else: one error line, exit 2.
"""

import sys

from o2f_core.synthetic import main

if __name__ == "__main__":
    sys.exit(main())
