#!/usr/bin/env python
"""The CPU demos. ``make demo``: FCOS needs NMS, o2f does not (:mod:`o2f_det.demo`).
``make demo-crowd`` (``--crowd``): the NMS dilemma in crowds, FCOS at every NMS threshold vs o2f
and POTO without NMS (:mod:`o2f_det.crowd_demo`).

    python tools/demo.py [--work-dir work_dirs/demo] [--epochs 24] [--num-train 400]
                         [--num-val 100] [--size 160] [--seed 0] [--quick]
    python tools/demo.py --crowd [--work-dir work_dirs/demo_crowd] [--epochs 6] [--seeds 3]
                         [--num-train 300] [--num-val 100] [--height 96] [--width 128] [--quick]
"""

import sys

if __name__ == '__main__':
    argv = sys.argv[1:]
    if '--crowd' in argv:
        from o2f_det.crowd_demo import main

        sys.exit(main([arg for arg in argv if arg != '--crowd']))
    from o2f_det.demo import main

    sys.exit(main(argv))
