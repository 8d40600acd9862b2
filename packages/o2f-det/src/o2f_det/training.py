"""The training runner shared by the det, seg and crowd entrypoints.

``o2f_det.train.main``, ``o2f_seg.train.main`` and ``o2f_crowd.train.main`` are one-liners calling
:func:`run` with their task; ``tools/train.py {det,seg,crowd} CONFIG`` dispatches to them.
The device is chosen by mmengine (CUDA when present, CPU otherwise).
"""

from __future__ import annotations

import argparse
import os.path as osp

from o2f_det.cli_common import (
    CliError,
    OneLineArgumentParser,
    check_task,
    default_work_dir,
    drop_unavailable_pretrained,
    exit_on_cli_error,
    load_task_config,
    parse_cfg_options,
    setup_launcher,
)


def build_parser(task: str) -> OneLineArgumentParser:
    """The training command line of one task (same flags for all tasks)."""
    parser = OneLineArgumentParser(prog=f'tools/train.py {task}',
                                   description=f'Train an o2f {task} model with mmengine.')
    parser.add_argument('config', help=f'config file, e.g. configs/{task}/...py')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CHECKPOINT',
                        help='resume from CHECKPOINT, or from the latest checkpoint in the work '
                        'dir when given without a value')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision training (AmpOptimWrapper; needs a CUDA GPU)')
    parser.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                        help='override config keys, e.g. train_cfg.max_epochs=1')
    parser.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                        help='pytorch: distributed training under torchrun (gloo on CPU, '
                        'nccl on GPU)')
    # torch.distributed.launch passes --local-rank; torchrun uses the LOCAL_RANK variable.
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return parser


def build_runner(argv: list[str] | None, task: str):
    """Parse ``argv`` and build the mmengine Runner (without training).

    Args:
        argv (list[str] | None): arguments after the task name (None: ``sys.argv[1:]``).
        task (str): 'det', 'seg' or 'crowd'.

    Returns:
        mmengine.runner.Runner: ready to ``train()``.

    Raises:
        CliError: any user error (one line, exit code 2 in :func:`run`).
    """
    import torch

    check_task(task, 'tools/train.py')
    args = build_parser(task).parse_args(argv)
    cfg = load_task_config(args.config, task, parse_cfg_options(args.cfg_options))
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)

    if args.amp:
        if not torch.cuda.is_available():
            raise CliError('--amp needs a CUDA GPU (mmengine AmpOptimWrapper); '
                           'drop --amp to train in fp32 on CPU')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise CliError(f'--resume checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume

    setup_launcher(cfg, args.launcher)
    drop_unavailable_pretrained(cfg)

    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


@exit_on_cli_error
def run(argv: list[str] | None, task: str) -> int:
    """Train ``task`` from the command line ``argv``; returns the process exit code."""
    runner = build_runner(argv, task)
    runner.train()
    return 0
