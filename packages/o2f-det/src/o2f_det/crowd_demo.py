"""The crowd demo (``tools/demo.py --crowd``, ``make demo-crowd``): where NMS fails.

In a crowd, any NMS IoU threshold either suppresses true neighbours (low threshold: recall lost)
or keeps duplicates (high threshold: false positives); a detector trained to give one box per
person needs no threshold at all (paper Table 8). Steps:

1. writes the synthetic crowded pedestrians (:mod:`o2f_crowd.synthetic_crowd`) to
   ``WORK_DIR/data`` (reused when its parameters match; replaced only when the generator wrote
   it: any other ``data`` folder stops the demo with one line);
2. trains ``configs/crowd/{fcos,o2f,poto}_crowd_demo_cpu.py`` from scratch with ``--seeds N``
   training seeds (0 .. N-1) on the same data;
3. evaluates with :class:`o2f_crowd.metrics.O2FCrowdHumanMetric` (AP, mMR, Recall, JI) and the
   duplicate rate (:mod:`o2f_core.duplicate_rate`, score >= 0.3, IoU >= 0.5): FCOS with NMS at
   IoU 0.3 ... 0.8 and without NMS (all from ONE set of raw head outputs per model: the NMS
   threshold is a post-process setting, so the raw boxes are kept once and NMS is applied per
   threshold exactly as the head does), o2f and POTO without NMS;
4. writes ``crowd_results.{md,json}`` (mean ± std over seeds), ``crowd_dilemma.png`` (mMR and
   Recall vs the NMS threshold for FCOS, o2f and POTO as horizontal lines) and
   ``crowd_scene.png`` (one crowded validation scene: FCOS at a low and a high threshold vs o2f).

Every evaluated setting's detections are kept as ``WORK_DIR/<detector>/seed_<s>/dt_<row>.json``
(mmdet's result-file format, read by ``tools/eval_crowd.py --dt``). ``--quick`` is a smoke run
for the tests (tiny data, one epoch, one seed): its numbers mean nothing. Bad arguments, a
protected ``--work-dir`` or a foreign ``WORK_DIR/data``: one error line, exit code 2, nothing
touched. Output files are written atomically (``o2f_core.io``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import os.path as osp
import sys
import time
from pathlib import Path

import numpy as np

from o2f_core.cli import OneLineArgumentParser, exit_on_cli_error

REPO_ROOT = str(Path(__file__).resolve().parents[4])  # packages/o2f-det/src/o2f_det/crowd_demo.py
CONFIGS = {name: osp.join(REPO_ROOT, 'configs', 'crowd', f'{name.lower()}_crowd_demo_cpu.py')
           for name in ('FCOS', 'o2f', 'POTO')}
NMS_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
PICTURE_THRESHOLDS = (NMS_THRESHOLDS[0], NMS_THRESHOLDS[-1])  # FCOS's low and high NMS
RAW_MAX_PER_IMG = 10 ** 6  # "no cap": every candidate after nms_pre and score_thr
METRICS = ('AP', 'mMR', 'Recall', 'JI', 'dup_rate')
RESULT_FILES = ('crowd_results.json', 'crowd_results.md', 'crowd_dilemma.png', 'crowd_scene.png')
GT_NAME = 'crowd_val.odgt'


def parse_args(argv):
    """The crowd demo's options (defaults depend on ``--quick``); a bad one raises CliError."""
    parser = OneLineArgumentParser(prog='tools/demo.py --crowd',
                                   description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo_crowd', help='outputs go here')
    parser.add_argument('--epochs', type=int, default=None, help='training epochs (default 6)')
    parser.add_argument('--num-train', type=int, default=None, help='training images (300)')
    parser.add_argument('--num-val', type=int, default=None, help='validation images (100)')
    parser.add_argument('--height', type=int, default=None, help='image height (96)')
    parser.add_argument('--width', type=int, default=None, help='image width (128)')
    parser.add_argument('--seeds', type=int, default=None,
                        help='training seeds 0 .. N-1 per detector (default 3)')
    parser.add_argument('--data-seed', type=int, default=0, help='seed of the generated data')
    parser.add_argument('--jobs', type=int, default=2,
                        help='trainings side by side (1: in this process, no child process)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: 8 + 4 images of 64x96, 1 epoch, 1 seed (numbers mean '
                        'nothing)')
    args = parser.parse_args(argv)
    defaults = dict(epochs=1, num_train=8, num_val=4, height=64, width=96, seeds=1) \
        if args.quick else dict(epochs=6, num_train=300, num_val=100, height=96, width=128,
                                seeds=3)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if min(args.epochs, args.num_train, args.num_val, args.seeds, args.jobs) < 1 \
            or args.data_seed < 0:
        parser.error('--epochs, --num-train, --num-val, --seeds and --jobs must be >= 1, '
                     '--data-seed >= 0')
    for name in ('height', 'width'):
        if not 64 <= getattr(args, name) <= 1024:
            parser.error(f'--{name} must be in [64, 1024], got {getattr(args, name)}')
    return args


# ------------------------------------------------------------------------------------ data


def prepare_data(args) -> str:
    """Write (or reuse) the crowd dataset; returns its directory."""
    from o2f_core.io import owns_directory, read_owner_marker
    from o2f_crowd.synthetic_crowd import LAYOUT, OWNER, write_crowd_dataset

    log = _log()
    data_dir = osp.join(args.work_dir, 'data')
    params = dict(num_train=args.num_train, num_val=args.num_val,
                  image_size=[args.height, args.width], seed=args.data_seed)
    if owns_directory(data_dir, OWNER, 'meta.json', LAYOUT):
        meta = read_owner_marker(data_dir, 'meta.json')
        if meta.get('params') == params:
            log(f'[data] reusing {data_dir}')
            return data_dir
    start = time.time()
    # Replaces data_dir only when the generator wrote it (or it is empty): never a user's data.
    info = write_crowd_dataset(data_dir, overwrite=True, num_train=args.num_train,
                               num_val=args.num_val, image_size=(args.height, args.width),
                               seed=args.data_seed)
    val = info['stats']['val']
    log(f"[data] wrote {data_dir}: {args.num_train} train / {args.num_val} val images of "
        f"{args.height}x{args.width}, {val['persons_per_image']:.1f} persons per val image, "
        f"{100 * val['share_with_iou_above_0.5']:.0f}% with a neighbour at IoU > 0.5, in "
        f"{time.time() - start:.1f} s")
    return data_dir


def _log():
    from o2f_det.demo import log

    return log


# ------------------------------------------------------------------------------------ training


def build_runner(name: str, config: str, data_dir: str, work_dir: str, args, seed: int,
                 load_from: str | None = None):
    """The mmengine Runner of one crowd demo config at the demo's size, data and schedule."""
    from mmengine.runner import Runner

    from o2f_core.cli import load_task_config
    from o2f_det.demo import configure_demo_training, make_progress_hook
    from o2f_det.visualization import set_data_root

    cfg = load_task_config(config, 'crowd')
    set_data_root(cfg, data_dir)
    # evaluated afterwards, per NMS threshold, from the collected predictions
    configure_demo_training(cfg, (args.width, args.height), args.epochs, args.num_train, seed,
                            work_dir)
    cfg.test_evaluator = []
    with contextlib.redirect_stdout(io.StringIO()):
        runner = Runner.from_cfg(cfg)
    if load_from is None:
        runner.register_hook(make_progress_hook(name, work_dir, early_epoch=0))  # no snapshot
    else:
        from o2f_core.engine import load_checkpoint_strict

        load_checkpoint_strict(runner.model, load_from)
    return runner


def train_one(name: str, config: str, data_dir: str, work_dir: str, args, seed: int,
              threads: int) -> None:
    """Train one (detector, seed) (in a child process with ``--jobs`` > 1)."""
    import torch

    import o2f_crowd.datasets  # noqa: F401  (registers the dataset and metric)
    import o2f_crowd.metrics  # noqa: F401
    import o2f_det  # noqa: F401  (registers the heads)
    from o2f_core.engine import install_checkpoint_support

    install_checkpoint_support()
    torch.set_num_threads(threads)
    runner = build_runner(name, config, data_dir, work_dir, args, seed)
    runner.train()


def train_all(data_dir: str, args) -> dict:
    """Train every (detector, seed); returns ``{(name, seed): checkpoint path}``."""
    from o2f_det.demo import run_trainings

    trainings = []
    for seed in range(args.seeds):
        for name, config in CONFIGS.items():
            work_dir = run_dir(args, name, seed)
            trainings.append((f'{name} s{seed}', work_dir, train_one,
                              (f'{name} s{seed}', config, data_dir, work_dir, args, seed)))
    if args.jobs == 1:  # in this process: no interpreter start-up per training
        done = {}
        for label, work_dir, target, target_args in trainings:
            _log()(f'[{label}] training ...')
            target(*target_args, max(1, os.cpu_count() or 1))
            with open(osp.join(work_dir, 'last_checkpoint')) as file:
                done[label] = (file.read().strip(), None)
    else:
        done = run_trainings(trainings, args.jobs)
    return {(name, seed): done[f'{name} s{seed}'][0]
            for seed in range(args.seeds) for name in CONFIGS}


def run_dir(args, name: str, seed: int) -> str:
    return osp.join(args.work_dir, name.lower(), f'seed_{seed}')


# ------------------------------------------------------------------------------------ evaluation


def nms_per_threshold(raw: list[dict], nms_cfg: dict, iou_threshold: float,
                      max_per_img: int) -> list[dict]:
    """Apply the head's NMS to raw (NMS-free, uncapped) predictions at ``iou_threshold``.

    The same operation as mmdet's ``_bbox_post_process`` after its score threshold:
    ``batched_nms`` with the config's NMS type, then the ``max_per_img`` best. So one set of raw
    outputs gives every threshold's result (tested equal to the head's own NMS output).
    """
    import torch
    from mmcv.ops import batched_nms

    out = []
    for pred in raw:
        boxes, scores = torch.as_tensor(pred['bboxes']), torch.as_tensor(pred['scores'])
        labels = torch.as_tensor(pred['labels'])
        if boxes.numel() == 0:
            keep = torch.zeros(0, dtype=torch.long)
        else:
            _, keep = batched_nms(boxes, scores, labels, dict(nms_cfg, iou_threshold=iou_threshold))
            keep = keep[:max_per_img]
        out.append(dict(pred, bboxes=pred['bboxes'][keep.numpy()],
                        scores=pred['scores'][keep.numpy()], labels=pred['labels'][keep.numpy()]))
    return out


def load_gt_persons(gt_path: str) -> dict:
    """``{ID: (P, 4) xyxy}`` of the persons that count (tag person, not ``extra.ignore``)."""
    persons = {}
    with open(gt_path) as file:
        for line in file:
            record = json.loads(line)
            boxes = [b['fbox'] for b in record['gtboxes']
                     if b['tag'] == 'person' and not b.get('extra', {}).get('ignore')]
            xywh = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
            persons[record['ID']] = np.column_stack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]])
    return persons


def duplicate_rate(records: list[dict], gt_persons: dict) -> float:
    """Duplicate rate (score >= 0.3, IoU >= 0.5) of odgt detection records (xywh boxes)."""
    from o2f_core.duplicate_rate import DuplicateCount, count_duplicates

    total = DuplicateCount()
    for record in records:
        xywh = np.asarray([d['box'] for d in record['dtboxes']], dtype=np.float64).reshape(-1, 4)
        scores = np.asarray([d['score'] for d in record['dtboxes']], dtype=np.float64)
        gt = gt_persons[record['ID']]
        total += count_duplicates(np.column_stack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]]),
                                  scores, np.zeros(len(scores), int), gt,
                                  np.zeros(len(gt), int))
    return total.rate


def evaluate_setting(predictions: list[dict], gt_path: str, gt_persons: dict,
                     outfile_prefix: str) -> dict:
    """O2FCrowdHumanMetric's AP, mMR, Recall, JI (written to ``outfile_prefix.json``) and the
    duplicate rate of the same written records."""
    import torch

    from o2f_crowd.metrics import O2FCrowdHumanMetric

    metric = O2FCrowdHumanMetric(ann_file=gt_path, metric=['AP', 'MR', 'JI', 'Recall'],
                                 outfile_prefix=outfile_prefix)
    metric.process(None, [dict(img_id=p['img_id'], ori_shape=p['ori_shape'], pred_instances=dict(
        bboxes=torch.as_tensor(p['bboxes']), scores=torch.as_tensor(p['scores'])))
        for p in predictions])
    values = metric.compute_metrics(metric.results)
    return {'AP': values['mAP'], 'mMR': values['mMR'], 'Recall': values['Recall'],
            'JI': values['JI'], 'dup_rate': round(duplicate_rate(metric.results, gt_persons), 4)}


def predict(runner, max_per_img: int) -> list[dict]:
    """The model's NMS-free predictions, the ``max_per_img`` best per image."""
    from o2f_core.eval_runner import collect_predictions, switch_nms

    switch_nms(runner.model, False)
    runner.model.bbox_head.test_cfg['max_per_img'] = max_per_img
    with contextlib.redirect_stdout(io.StringIO()):
        dataloader = runner.test_dataloader
    return collect_predictions(runner.model, dataloader)


def evaluate_all(checkpoints: dict, data_dir: str, args) -> tuple[dict, dict]:
    """Rows ``{row: {metric: [value per seed]}}`` and the seed-0 predictions per row."""
    gt_path = osp.join(data_dir, 'annotations', GT_NAME)
    gt_persons = load_gt_persons(gt_path)
    rows: dict[str, dict] = {}
    pictures = {}
    for (name, seed), checkpoint in checkpoints.items():
        runner = build_runner(name, CONFIGS[name], data_dir, run_dir(args, name, seed), args,
                              seed, load_from=checkpoint)
        test_cfg = runner.model.bbox_head.test_cfg
        max_per_img, nms_cfg = test_cfg['max_per_img'], dict(test_cfg['nms'])
        settings = {}
        if name == 'FCOS':
            raw = predict(runner, RAW_MAX_PER_IMG)
            for threshold in NMS_THRESHOLDS:
                settings[f'FCOS NMS@{threshold}'] = nms_per_threshold(raw, nms_cfg, threshold,
                                                                      max_per_img)
            settings['FCOS w/o NMS'] = [
                dict(p, bboxes=p['bboxes'][:max_per_img], scores=p['scores'][:max_per_img],
                     labels=p['labels'][:max_per_img]) for p in raw]  # raw is score-sorted
        else:
            settings[f'{name} w/o NMS'] = predict(runner, max_per_img)
        for row, predictions in settings.items():
            tag = row.split(' ', 1)[1].replace('w/o NMS', 'no_nms').replace('NMS@', 'nms_')
            values = evaluate_setting(predictions, gt_path, gt_persons,
                                      osp.join(run_dir(args, name, seed), f'dt_{tag}'))
            for key, value in values.items():
                rows.setdefault(row, {}).setdefault(key, []).append(value)
            if seed == 0:
                pictures[row] = predictions
        _log()(f'[{name:>4}] seed {seed}: ' + ', '.join(
            f"{row} mMR {100 * rows[row]['mMR'][-1]:.1f}" for row in settings))
    return {row: rows[row] for row in row_order() if row in rows}, pictures


def row_order() -> list[str]:
    return [*(f'FCOS NMS@{t}' for t in NMS_THRESHOLDS), 'FCOS w/o NMS', 'o2f w/o NMS',
            'POTO w/o NMS']


# ------------------------------------------------------------------------------------ report


def summarize(rows: dict) -> dict:
    """``{row: {metric: {"per_seed", "mean", "std"}}}``; std is the sample std (0 for 1 seed)."""
    out = {}
    for row, per_metric in rows.items():
        out[row] = {}
        for key, values in per_metric.items():
            array = np.asarray(values, dtype=np.float64)
            std = float(array.std(ddof=1)) if array.size > 1 else 0.0
            out[row][key] = dict(per_seed=values, mean=float(array.mean()), std=std)
    return out


def format_table(summary: dict) -> str:
    """Markdown: one row per detector/setting, mean ± std over seeds in percent."""
    names = {'AP': 'AP', 'mMR': 'mMR ↓', 'Recall': 'Recall', 'JI': 'JI', 'dup_rate': 'dup@0.3 ↓'}
    lines = ['| detector | ' + ' | '.join(names[k] for k in METRICS) + ' |',
             '|---' * (len(METRICS) + 1) + '|']
    for row, per_metric in summary.items():
        cells = [f"{100 * per_metric[k]['mean']:.1f} ± {100 * per_metric[k]['std']:.1f}"
                 for k in METRICS]
        lines.append(f'| {row} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def draw_dilemma(summary: dict, path: str, seeds: int) -> None:
    """mMR and Recall vs FCOS's NMS threshold; o2f and POTO without NMS as horizontal lines."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from o2f_core.io import atomic_output

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for axis, key, label in ((axes[0], 'mMR', 'mMR (%, lower is better)'),
                             (axes[1], 'Recall', 'Recall (%)')):
        mean = np.array([100 * summary[f'FCOS NMS@{t}'][key]['mean'] for t in NMS_THRESHOLDS])
        std = np.array([100 * summary[f'FCOS NMS@{t}'][key]['std'] for t in NMS_THRESHOLDS])
        axis.errorbar(NMS_THRESHOLDS, mean, yerr=std, marker='o', capsize=3,
                      label='FCOS + NMS', color='tab:red')
        for row, colour in (('o2f w/o NMS', 'tab:blue'), ('POTO w/o NMS', 'tab:green')):
            value, spread = (100 * summary[row][key][s] for s in ('mean', 'std'))
            axis.axhline(value, color=colour, label=f'{row.split()[0]} (no NMS)')
            axis.axhspan(value - spread, value + spread, color=colour, alpha=0.15)
        axis.set_xlabel('NMS IoU threshold (FCOS)')
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(f'The NMS dilemma on synthetic crowds (mean ± std over {seeds} seed'
                    f'{"s" if seeds > 1 else ""})', fontsize=10)
    figure.tight_layout()
    with atomic_output(path, what='crowd demo output') as temp_path:
        figure.savefig(temp_path, format='png', dpi=110)
    plt.close(figure)


def draw_scene(pictures: dict, data_dir: str, path: str) -> str:
    """One crowded validation scene: GT, FCOS at the low and high NMS threshold, o2f and POTO
    without NMS.

    Each detector shows its N best boxes, N = the scene's number of persons (threshold-free, as
    :func:`o2f_det.visualization.draw_detection_comparison`: FCOS's scores include centerness and
    sit lower than o2f's, so one score threshold would not compare like with like). Titles count
    the boxes that hit a new person (IoU >= 0.5) and the duplicates.

    Returns:
        str: the drawn image's ID.
    """
    from PIL import Image

    from o2f_core.duplicate_rate import pairwise_iou
    from o2f_core.io import atomic_output
    from o2f_det.visualization import _draw_boxes, count_hits_and_duplicates

    gt_persons = load_gt_persons(osp.join(data_dir, 'annotations', GT_NAME))
    images = pictures['o2f w/o NMS']

    def crowdedness(pred):  # pairs of persons at IoU > 0.5, then the person count
        gt = gt_persons[pred['img_id']]
        return int((np.triu(pairwise_iou(gt, gt), 1) > 0.5).sum()), len(gt)

    index = max(range(len(images)), key=lambda i: crowdedness(images[i]))
    image = Image.open(images[index]['img_path']).convert('RGB')
    gt = gt_persons[images[index]['img_id']]
    tiles = [_draw_boxes(image, gt, [None] * len(gt), f'GT: {len(gt)} persons')]
    low, high = PICTURE_THRESHOLDS
    for row, short in ((f'FCOS NMS@{low}', f'FCOS NMS {low}'),
                       (f'FCOS NMS@{high}', f'FCOS NMS {high}'),
                       ('o2f w/o NMS', 'o2f no NMS'), ('POTO w/o NMS', 'POTO no NMS')):
        pred = pictures[row][index]
        boxes = pred['bboxes'][np.argsort(-pred['scores'], kind='stable')[:len(gt)]]
        hits, duplicates = count_hits_and_duplicates(boxes, gt)
        tiles.append(_draw_boxes(image, boxes, [0] * len(boxes),
                                 f'{short}: {hits} hit, {duplicates} dup'))
    gap = 4
    canvas = Image.new('RGB', (sum(t.width for t in tiles) + gap * (len(tiles) - 1),
                               tiles[0].height), (40, 40, 40))
    x = 0
    for tile in tiles:
        canvas.paste(tile, (x, 0))
        x += tile.width + gap
    with atomic_output(path, what='crowd demo output') as temp_path:
        canvas.save(temp_path, format='PNG')
    return images[index]['img_id']


def check_work_dir(args) -> None:
    """Refuse, before any work, a work dir or result file the demo must not touch."""
    from o2f_core.io import check_not_protected, check_output_path

    check_not_protected(args.work_dir, '--work-dir', allow_cwd=True)
    data_files = [osp.join(args.work_dir, 'data', 'annotations', f'crowd_{split}.odgt')
                  for split in ('train', 'val')]
    for name in RESULT_FILES:
        check_output_path(osp.join(args.work_dir, name), inputs=data_files,
                          what='crowd demo output')


@exit_on_cli_error
def main(argv: list[str] | None = None) -> int:
    """``tools/demo.py --crowd``: data, training, NMS sweep, table, plot, picture."""
    from o2f_det.demo import _fmt_time, _quiet_warnings

    args = parse_args(sys.argv[1:] if argv is None else argv)
    _quiet_warnings()
    log = _log()
    from o2f_core.io import atomic_write, install_termination_handlers

    install_termination_handlers()
    try:
        check_work_dir(args)
        os.makedirs(args.work_dir, exist_ok=True)
        start = time.time()
        log(f'o2f crowd demo: FCOS + NMS at IoU {NMS_THRESHOLDS[0]}-{NMS_THRESHOLDS[-1]} vs o2f '
            f'and POTO without NMS, {args.epochs} epochs x {args.seeds} seed'
            f'{"s" if args.seeds > 1 else ""}, outputs in {args.work_dir}/')
        data_dir = prepare_data(args)
    except (ValueError, OSError) as error:  # UnsafeOutputError is a ValueError
        detail = (f'{error.strerror}: {error.filename}' if isinstance(error, OSError)
                  and error.strerror else error)
        print(f'tools/demo.py --crowd: error: {detail}', file=sys.stderr)
        return 2

    import o2f_crowd.datasets  # noqa: F401  (registers the dataset and metric)
    import o2f_crowd.metrics  # noqa: F401
    import o2f_det  # noqa: F401
    from o2f_core.engine import install_checkpoint_support

    install_checkpoint_support()
    checkpoints = train_all(data_dir, args)
    rows, pictures = evaluate_all(checkpoints, data_dir, args)
    summary = summarize(rows)
    table = format_table(summary)
    draw_dilemma(summary, osp.join(args.work_dir, 'crowd_dilemma.png'), args.seeds)
    scene = draw_scene(pictures, data_dir, osp.join(args.work_dir, 'crowd_scene.png'))
    with open(osp.join(data_dir, 'meta.json')) as file:
        data_stats = json.load(file)['stats']
    results = dict(settings=dict(epochs=args.epochs, num_train=args.num_train,
                                 num_val=args.num_val, image_size=[args.height, args.width],
                                 seeds=list(range(args.seeds)), data_seed=args.data_seed,
                                 quick=args.quick, nms_thresholds=list(NMS_THRESHOLDS)),
                   data_stats=data_stats, rows=summary, scene_image=scene,
                   wall_seconds=round(time.time() - start, 1))
    atomic_write(osp.join(args.work_dir, 'crowd_results.json'),
                 json.dumps(results, indent=2) + '\n', what='crowd demo output')
    atomic_write(osp.join(args.work_dir, 'crowd_results.md'), table + '\n',
                 what='crowd demo output')
    log('')
    log(table)
    log('')
    log(f'Done in {_fmt_time(results["wall_seconds"])}: {args.work_dir}/crowd_results.md, '
        f'crowd_results.json, crowd_dilemma.png, crowd_scene.png')
    return 0
