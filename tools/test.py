#!/usr/bin/env python
"""Evaluate an o2f checkpoint without and with NMS in one run.

``python tools/test.py {det,seg,crowd} CONFIG CHECKPOINT [--out PRED.pkl] [options]`` prints a
small table like the paper's Table 5 (one row per NMS setting). The shared testing runner is
``o2f_core.eval_runner``. User errors print one line and exit with code 2.
"""

from __future__ import annotations

import sys
import warnings

from o2f_core.cli import TASKS

# mmengine 0.10.7 imports pkg_resources (deprecated by setuptools) when it resolves `mmdet::`
# config bases; keep that notice from burying our one-line errors and warnings.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

USAGE = ('usage: tools/test.py {det,seg,crowd} CONFIG CHECKPOINT [--out PRED.pkl] '
         '[--work-dir DIR] [--allow-partial] [--cfg-options KEY=VALUE|+NEWKEY=VALUE ...] '
         '[--launcher {none,pytorch}]\n'
         '  --allow-partial: evaluate a checkpoint that does not cover the model (refused '
         'otherwise)\n  tools/test.py TASK --help: every option')


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ('-h', '--help'):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    task, rest = argv[0], argv[1:]
    if task not in TASKS:
        print(f'tools/test.py: error: unknown task {task!r}; choose one of {", ".join(TASKS)}',
              file=sys.stderr)
        return 2
    from o2f_core.eval_runner import run

    return run(rest, task)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
