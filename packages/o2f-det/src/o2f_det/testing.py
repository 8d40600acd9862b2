"""The evaluation runner shared by det, seg and crowd: one checkpoint, without and with NMS.

``tools/test.py {det,seg,crowd} CONFIG CHECKPOINT`` builds the config's test loop once, flips the
``test_cfg.with_nms`` switch of every head that has one (:class:`NMSSwitchMixin`) and runs the
loop twice, then prints one table (like the paper's Table 5) with every metric the evaluator
returns: COCO AP/AP50/AP75/APs/m/l/AR@100 for det, bbox + segm for seg, the crowd metrics for
crowd.

The checkpoint must cover the model (:func:`o2f_core.engine.load_checkpoint_strict`): another
model's weights are refused with one line unless ``--allow-partial`` is given.
"""

from __future__ import annotations

import argparse
import os
import os.path as osp
import pickle
import shutil
import tempfile
from collections.abc import Sequence

from o2f_det.cli_common import (
    CliError,
    OneLineArgumentParser,
    build_error_line,
    check_task,
    default_work_dir,
    exit_on_cli_error,
    iter_pretrained_init_cfgs,
    load_task_config,
    parse_cfg_options,
    setup_launcher,
)
from o2f_det.data_checks import check_config_data

# (row label, test_cfg.with_nms, key in the --out pickle)
NMS_SETTINGS = (('w/o NMS', False, 'without_nms'), ('w/ NMS', True, 'with_nms'))


def build_parser(task: str) -> OneLineArgumentParser:
    """The evaluation command line of one task."""
    parser = OneLineArgumentParser(prog=f'tools/test.py {task}',
                                   description='Evaluate a checkpoint without and with NMS.')
    parser.add_argument('config', help=f'config file, e.g. configs/{task}/...py')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    parser.add_argument('--out', metavar='PRED.pkl',
                        help='write the predictions of both settings to this pickle: '
                        "{'without_nms': [...], 'with_nms': [...]}, one dict per image")
    parser.add_argument('--work-dir', help='where logs go (default: ./work_dirs/<config name>)')
    parser.add_argument('--allow-partial', action='store_true',
                        help='evaluate even when the checkpoint does not cover the model '
                        '(missing/unexpected keys, shape mismatches); prints what was not loaded. '
                        'Without it such a checkpoint is refused')
    parser.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                        help='override config keys; add a key the config does not have with '
                        '+KEY=VALUE')
    parser.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                        help='pytorch: distributed evaluation under torchrun')
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return parser


def format_table(rows: Sequence[tuple[str, dict]]) -> str:
    """A Markdown table: one row per NMS setting, one column per metric.

    Args:
        rows: ``(label, metrics)`` pairs; metric names like ``coco/bbox_mAP_50`` are shortened
            to ``bbox_AP_50`` (and to ``AP_50`` when every metric is a bbox metric).

    Returns:
        str: the table (values as returned by the evaluator, 3 decimals).
    """
    keys: list[str] = []
    for _, metrics in rows:
        keys += [key for key in metrics if key not in keys]
    if not keys:  # e.g. CocoMetric returns {} when no box passes score_thr
        return '\n'.join(['| NMS | result |', '|---|---|'] + [
            f'| {label} | no metrics (no detections above test_cfg.score_thr?) |'
            for label, _ in rows])
    names = [key.rsplit('/', 1)[-1].replace('mAP', 'AP') for key in keys]
    if names and all(name.startswith('bbox_') for name in names):
        names = [name[len('bbox_'):] for name in names]
    lines = ['| NMS | ' + ' | '.join(names) + ' |', '|---' * (len(names) + 1) + '|']
    for label, metrics in rows:
        cells = []
        for key in keys:
            value = metrics.get(key)
            if value is None:
                cells.append('-')
            else:
                cells.append(f'{value:.3f}' if isinstance(value, int | float) else str(value))
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _annotation_files(cfg) -> list[str]:
    """The test set's annotation files (dataset and evaluator), inputs that --out must not be."""
    files = []
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    if isinstance(dataset.get('ann_file'), str):
        root = dataset.get('data_root') or ''
        files.append(osp.join(root, dataset['ann_file']))
    evaluators = cfg.get('test_evaluator') or []
    for evaluator in evaluators if isinstance(evaluators, list | tuple) else [evaluators]:
        if isinstance(evaluator, dict) and isinstance(evaluator.get('ann_file'), str):
            files.append(evaluator['ann_file'])
    return files


def _nms_switch_heads(model) -> list:
    return [module for module in model.modules() if hasattr(module, 'set_with_nms')]


@exit_on_cli_error
def run(argv: list[str] | None, task: str) -> int:
    """Evaluate without and with NMS; prints the table; returns the exit code."""
    from mmengine.dist import get_rank
    from mmengine.runner import Runner

    from o2f_core.engine import CheckpointError, load_checkpoint_strict, load_local_checkpoint
    from o2f_core.io import UnsafeOutputError, atomic_output, check_output_path

    check_task(task, 'tools/test.py')
    args = build_parser(task).parse_args(argv)
    cfg_options = parse_cfg_options(args.cfg_options)
    cfg = load_task_config(args.config, task, cfg_options)
    if not osp.isfile(args.checkpoint):
        raise CliError(f'checkpoint not found: {args.checkpoint}')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise CliError(f'--out must name a .pkl file, got {args.out}')
    inputs = [args.config, args.checkpoint, *_annotation_files(cfg)]
    if args.out is not None:
        try:
            check_output_path(args.out, inputs, '--out')
        except UnsafeOutputError as err:
            raise CliError(str(err)) from None
    try:  # a broken file is reported before the (slow) model build
        checkpoint = load_local_checkpoint(args.checkpoint, map_location='cpu')
    except CheckpointError as err:
        raise CliError(str(err)) from None
    check_config_data(cfg, ('test_dataloader',))
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    cfg.load_from = None  # loaded strictly below, not by mmengine's non-strict loader
    cfg.resume = False
    # The weights come from the checkpoint: skip ImageNet downloads entirely.
    for parent, _path, _ckpt in list(iter_pretrained_init_cfgs(cfg.get('model'))):
        parent['init_cfg'] = None
    setup_launcher(cfg, args.launcher)

    dump_dir = None
    if args.out is not None:
        out_dir = osp.dirname(osp.abspath(args.out))
        os.makedirs(out_dir, exist_ok=True)
        dump_dir = tempfile.mkdtemp(prefix='.o2f_test_', dir=out_dir)
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, list | tuple) else [evaluators]
        evaluators.append(dict(type='DumpDetResults',
                               out_file_path=osp.join(dump_dir, 'predictions.pkl')))
        cfg.test_evaluator = evaluators

    try:
        try:
            runner = Runner.from_cfg(cfg)
        except (KeyError, TypeError, ValueError, AssertionError) as err:
            raise CliError(build_error_line(err, cfg, 'model', cfg_options)) from err
        try:
            load_checkpoint_strict(runner.model, args.checkpoint, args.allow_partial,
                                   checkpoint=checkpoint)
        except CheckpointError as err:
            raise CliError(str(err)) from None
        runner._has_loaded = True  # noqa: SLF001 - Runner.test() would otherwise load_or_resume
        heads = _nms_switch_heads(runner.model)
        if not heads:
            raise CliError(f'{args.config}: no head with an NMS switch (test_cfg.with_nms); '
                           'use an o2f head (O2FHead, NMSSwitchFCOSHead, ...)')
        rows, predictions = [], {}
        for label, with_nms, out_key in NMS_SETTINGS:
            for head in heads:
                head.set_with_nms(with_nms)
            metrics = runner.test()
            rows.append((label, dict(metrics)))
            if dump_dir is not None and get_rank() == 0:
                with open(osp.join(dump_dir, 'predictions.pkl'), 'rb') as file:
                    predictions[out_key] = pickle.load(file)
        if get_rank() == 0:
            print(format_table(rows), flush=True)
            if args.out is not None:  # atomic: no half-written output on failure
                with atomic_output(args.out, inputs, '--out') as partial, \
                        open(partial, 'wb') as file:
                    pickle.dump(predictions, file)
    finally:
        if dump_dir is not None:
            shutil.rmtree(dump_dir, ignore_errors=True)
    return 0
