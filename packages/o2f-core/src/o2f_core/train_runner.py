"""The training runner shared by the det, seg and crowd entrypoints.

``o2f_det.train.main``, ``o2f_seg.train.main`` and ``o2f_crowd.train.main`` are one-liners calling
:func:`run` with their task; ``tools/train.py {det,seg,crowd} CONFIG`` dispatches to them.
The device is chosen by mmengine (CUDA when present, CPU otherwise).

Safety, the same for every task: the data files are checked before the model is built
(:mod:`o2f_core.data_checks`), errors while building the model/dataset are one line naming the
config key, an empty training set after ``filter_cfg`` is one line, and ``O2FFiniteLossHook``
stops training at the first non-finite loss (exit code 1) before any NaN checkpoint is saved.
"""

from __future__ import annotations

import argparse
import os.path as osp
import sys

from o2f_core.cli import (
    CliError,
    OneLineArgumentParser,
    build_error_line,
    check_task,
    default_work_dir,
    drop_unavailable_pretrained,
    exit_on_cli_error,
    load_task_config,
    parse_cfg_options,
    setup_launcher,
)
from o2f_core.data_checks import check_config_data

FINITE_LOSS_HOOK = 'O2FFiniteLossHook'
# Exit code of a run stopped by a non-finite loss (2 is kept for command-line/config errors).
NON_FINITE_EXIT = 1


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
                        help='override config keys, e.g. train_cfg.max_epochs=1; a key the '
                        'config does not have is refused (typo guard): add a new key with '
                        '+KEY=VALUE')
    parser.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                        help='pytorch: distributed training under torchrun (gloo on CPU, '
                        'nccl on GPU)')
    parser.add_argument('--dual-nms-val', action='store_true',
                        help='validate without NMS and with NMS from one forward pass '
                        "(val_cfg.type='O2FDualNMSValLoop'): AP w/o NMS under the metric's "
                        'name, w/ NMS under nms/<name> (Fig. 5: tools/plot_curves.py)')
    parser.add_argument('--print-config', '--dry-run', action='store_true',
                        help='print the merged config (bases, --cfg-options, and the defaults '
                        'of every head the config does not set) and exit without training')
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

    from o2f_core.engine import install_checkpoint_support

    check_task(task, 'tools/train.py')
    install_checkpoint_support()  # checkpoints saved and resumed with weights_only loading
    args = build_parser(task).parse_args(argv)
    cfg_options = parse_cfg_options(args.cfg_options)
    cfg = load_task_config(args.config, task, cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)

    if args.amp:
        if not torch.cuda.is_available():
            raise CliError('--amp needs a CUDA GPU (mmengine AmpOptimWrapper); '
                           'drop --amp to train in fp32 on CPU')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.dual_nms_val:
        cfg.val_cfg = dict(cfg.get('val_cfg') or {}, type='O2FDualNMSValLoop')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
        # mmengine's auto-resume (its find_latest_checkpoint reads the work dir's
        # last_checkpoint) silently starts over when there is none: say so.
        if not osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint')):
            print(f'no checkpoint in {cfg.work_dir}: training starts from scratch',
                  file=sys.stderr, flush=True)
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise CliError(f'--resume checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume

    add_finite_loss_hook(cfg)
    check_config_data(cfg, ('train_dataloader', 'val_dataloader'))
    setup_launcher(cfg, args.launcher)
    drop_unavailable_pretrained(cfg)

    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    try:
        if 'runner_type' in cfg:
            runner = RUNNERS.build(cfg)
        else:
            runner = Runner.from_cfg(cfg)
    except (KeyError, TypeError, ValueError, AssertionError) as err:
        raise CliError(build_error_line(err, cfg, 'model', cfg_options)) from err
    runner.o2f_cfg_options = cfg_options
    return runner


# Model parts whose constructor defaults --print-config fills in (the settings a reader of the
# config cannot see otherwise); backbones and necks are mmdet's own and documented there.
HEAD_KEYS = ('bbox_head', 'mask_head', 'rpn_head', 'roi_head')


def constructor_defaults(cls) -> dict:
    """Keyword defaults of ``cls.__init__`` along its MRO (a subclass's own default wins).

    Parameters without a default, ``*args``/``**kwargs``, ``init_cfg`` and ``train_cfg`` /
    ``test_cfg`` (the detector passes its own ``model.train_cfg``/``test_cfg`` to the heads) are
    skipped.
    """
    import inspect

    defaults = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        for name, param in inspect.signature(init).parameters.items():
            if (name in ('self', 'init_cfg', 'train_cfg', 'test_cfg')
                    or param.default is inspect.Parameter.empty
                    or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD)):
                continue
            defaults.setdefault(name, param.default)
    return defaults


def effective_config(cfg):
    """``cfg`` with the constructor defaults of the model's heads filled in where unset.

    The head classes are looked up in mmdet's MODELS registry (the config's ``custom_imports``
    registered ours); the config's own values are kept, only missing keys are added.

    Returns:
        tuple: the completed ``mmengine.Config`` (a copy) and ``{head key: [added keys]}``.
    """
    import copy

    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg = copy.deepcopy(cfg)
    added = {}
    model = cfg.get('model') or {}
    for key in HEAD_KEYS:
        head = model.get(key)
        if not isinstance(head, dict) or not isinstance(head.get('type'), str):
            continue
        cls = MODELS.get(head['type'])
        if cls is None:
            raise CliError(build_error_line(KeyError(
                f"{head['type']} is not in the model registry"), cfg, 'model'))
        missing = {name: value for name, value in constructor_defaults(cls).items()
                   if name not in head}
        head.update(missing)
        added[key] = sorted(missing)
    return cfg, added


def print_config(argv: list[str] | None, task: str) -> int:
    """``--print-config``: the merged config with the heads' defaults, on stdout; no training."""
    args = build_parser(task).parse_args(argv)
    cfg_options = parse_cfg_options(args.cfg_options)
    cfg = load_task_config(args.config, task, cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    cfg, added = effective_config(cfg)
    print(f'# {args.config}: merged config (bases and --cfg-options applied)', flush=True)
    for key, names in added.items():
        print(f"# model.{key}: defaults of {cfg.model[key]['type']} filled in: "
              f"{', '.join(names) or 'none'}")
    print(cfg.pretty_text, flush=True)
    return 0


def add_finite_loss_hook(cfg) -> None:
    """Add :class:`o2f_core.engine.O2FFiniteLossHook` to ``custom_hooks`` (once)."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(isinstance(hook, dict) and hook.get('type') == FINITE_LOSS_HOOK for hook in hooks):
        hooks.append(dict(type=FINITE_LOSS_HOOK))
    cfg.custom_hooks = hooks


def build_train_loop(runner) -> None:
    """Build the train loop (dataset, sampler) before training, turning data errors into one line.

    Raises:
        CliError: no image left after ``filter_cfg``, an unknown ``type`` in the data pipeline,
            a malformed annotation record.
    """
    cfg = runner.cfg
    try:
        runner.train_loop  # noqa: B018 - the property builds the loop, its dataloader and dataset
    except ValueError as err:
        if 'need at least one array to concatenate' in str(err):  # BaseDataset._serialize_data
            dataset = cfg.train_dataloader.dataset
            while 'dataset' in dataset and 'filter_cfg' not in dataset:
                dataset = dataset.dataset
            raise CliError(
                f"no training image left after filter_cfg={dict(dataset.get('filter_cfg') or {})}"
                f" of {osp.join(dataset.get('data_root') or '', dataset.get('ann_file') or '')}"
                ": no image has an object of the config's classes; "
                'check metainfo.classes and the annotations, or keep images without objects with '
                '--cfg-options train_dataloader.dataset.filter_cfg.filter_empty_gt=False'
            ) from err
        raise CliError(build_error_line(err, cfg, 'training data',
                                        getattr(runner, 'o2f_cfg_options', None))) from err
    except (KeyError, TypeError, AssertionError) as err:
        raise CliError(build_error_line(err, cfg, 'training data',
                                        getattr(runner, 'o2f_cfg_options', None))) from err


@exit_on_cli_error
def run(argv: list[str] | None, task: str) -> int:
    """Train ``task`` from the command line ``argv``; returns the process exit code."""
    from o2f_core.engine import NonFiniteLossError

    check_task(task, 'tools/train.py')
    if build_parser(task).parse_args(argv).print_config:
        return print_config(argv, task)
    runner = build_runner(argv, task)
    build_train_loop(runner)
    try:
        runner.train()
    except NonFiniteLossError as err:
        print(str(err), file=sys.stderr, flush=True)
        return NON_FINITE_EXIT
    return 0
