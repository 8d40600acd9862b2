#!/usr/bin/env python
"""The paper's tables at small scale with seeds (CPU), or the COCO commands (``--full``).

``python tools/reproduce.py {table2,table3,table4,table5,table9,fig5} [--seeds 3] [--quick]
[--full [--launch]]`` writes ``work_dirs/reproduce/<table>/{results.md,results.json,*.png}``.
The logic is :mod:`o2f_det.experiments.reproduce`.
"""

import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

from o2f_det.experiments.reproduce import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
