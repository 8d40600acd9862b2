#!/usr/bin/env python
"""Train an o2f model: ``python tools/train.py {det,seg,crowd} CONFIG [options]``.

A thin dispatcher: the task picks the package entrypoint ``o2f_<task>.train`` (imported lazily,
so ``det`` never imports the seg or crowd packages); all flags are handled by the shared runner
(``o2f_core.train_runner``). User errors print one line and exit with code 2.
"""

from __future__ import annotations

import importlib
import sys
import warnings

from o2f_core.cli import TASKS

# mmengine 0.10.7 imports pkg_resources (deprecated by setuptools) when it resolves `mmdet::`
# config bases; keep that notice from burying our one-line errors and warnings.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

USAGE = ('usage: tools/train.py {det,seg,crowd} CONFIG [--work-dir DIR] [--resume [CKPT]] '
         '[--amp] [--cfg-options KEY=VALUE|+NEWKEY=VALUE ...] [--launcher {none,pytorch}] '
         '[--print-config]\n'
         '  --cfg-options: a key the config does not have is refused; add one with +KEY=VALUE\n'
         '  --print-config: print the merged config with the heads\' defaults, do not train\n'
         '  tools/train.py TASK --help: every option')


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ('-h', '--help'):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    task, rest = argv[0], argv[1:]
    if task not in TASKS:
        print(f'tools/train.py: error: unknown task {task!r}; choose one of {", ".join(TASKS)}',
              file=sys.stderr)
        return 2
    return importlib.import_module(f'o2f_{task}.train').main(rest)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
