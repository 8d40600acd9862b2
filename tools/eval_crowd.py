#!/usr/bin/env python
"""Evaluate CrowdHuman full-body detections: AP, mMR, Recall and JI. The code is
:mod:`o2f_crowd.cli` (the file mode needs only numpy and scipy; ``--help`` lists the options).

    python tools/eval_crowd.py --gt annotation_val.odgt --dt results.odgt [--json metrics.json]
    python tools/eval_crowd.py --config CFG --checkpoint CKPT --dt results.odgt [--json M.json]
"""

import sys

from o2f_crowd.cli import main

if __name__ == "__main__":
    sys.exit(main())
