"""The paper's tables at small scale: every row trained on the synthetic shapes with N seeds.

``python tools/reproduce.py {table2,table3,table4,table5,table9,fig5} [--seeds 3] [--quick]
[--full [--launch]] [--out-dir work_dirs/reproduce]``

Each row is a CPU demo config plus overrides (the same keys ``--cfg-options`` takes). Every run
validates after every epoch with :class:`o2f_core.dual_nms.O2FDualNMSValLoop` (AP without and
with NMS from one pass) and :class:`o2f_core.duplicate_metric.O2FDuplicateRateMetric`; the last
epoch's numbers are the row's. Written to ``<out-dir>/<table>/``:

* ``results.json``: every run's metrics, and per row mean and sample std over the seeds;
* ``results.md``: one line per row, ``mean ± std`` of AP w/o NMS, AP w/ NMS, AR@100 (w/o NMS),
  duplicate rate w/o and w/ NMS at score 0.3, and the paper's number where we have it (``-``
  where it was not transcribed: we never invent one);
* ``curves.png`` (``fig5.png`` for ``fig5``): the first seed's AP-vs-epoch curves, T and losses.

Runs live in ``<out-dir>/<table>/runs/<timestamp>/<row>/seed<N>`` (a new folder per call: an
earlier call is never overwritten or mixed in). ``--quick`` is a smoke version (tiny images, two
short epochs, one seed): it checks the plumbing, its numbers mean nothing. ``--full`` prints the
COCO commands of the real configs (``--launch`` runs them one after the other).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os.path as osp
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from o2f_core.io import atomic_write

REPO = osp.abspath(osp.join(osp.dirname(__file__), *[osp.pardir] * 5))
TABLES = ('table2', 'table3', 'table4', 'table5', 'table9', 'fig5')

# (key in the dual-loop metrics, column title)
COLUMNS = (('coco/bbox_mAP', 'AP w/o NMS'), ('nms/coco/bbox_mAP', 'AP w/ NMS'),
           ('coco/bbox_AR@100', 'AR@100 w/o NMS'), ('duplicate/rate', 'dup. w/o NMS'),
           ('nms/duplicate/rate', 'dup. w/ NMS'))
SEG_COLUMNS = (('coco/segm_mAP', 'mask AP w/o NMS'), ('nms/coco/segm_mAP', 'mask AP w/ NMS'))

DET_O2F = 'configs/det/o2f_demo_cpu.py'
DET_POTO = 'configs/det/poto_demo_cpu.py'
DET_FCOS = 'configs/det/fcos_demo_cpu.py'
DET_POTO_3DMF = 'configs/det/poto_3dmf_demo_cpu.py'
DET_POTO_3DMF_AUX = 'configs/det/poto_3dmf_aux_demo_cpu.py'
DET_HYBRID_EPOCH = 'configs/det/fcos_hybrid_epoch_demo_cpu.py'
SEG_O2F = 'configs/seg/condinst_o2f_demo_cpu.py'
SEG_CONDINST = 'configs/seg/condinst_demo_cpu.py'


@dataclass
class Row:
    """One row of a table: a demo config, its overrides and the matching COCO config."""

    name: str
    config: str
    overrides: dict = field(default_factory=dict)
    full_config: str | None = None  # the real COCO config (None: not available yet)
    paper: dict = field(default_factory=dict)  # paper numbers we have, e.g. {'AP w/o NMS': 39.0}
    missing: str | None = None  # why the row cannot run yet

    @property
    def task(self) -> str:
        return self.config.split('/')[1]


def _o2f(name: str, **overrides) -> Row:
    return Row(name, DET_O2F, overrides, 'configs/det/o2f_r50_1x.py')


def table_rows(table: str) -> list[Row]:
    """The rows of one table (names as in the paper; knobs by config key)."""
    if table == 'table2':  # K: ambiguous anchors per object (besides the certain one)
        return [_o2f(f'K={k}', **{'model.train_cfg.assigner.num_ambiguous': k})
                for k in (3, 5, 7, 9, 13)]
    if table == 'table3':  # a 2x2 corner of T_max x T_min
        return [_o2f(f'Tmax={t_max} Tmin={t_min}', o2f_temperature=dict(t_max=t_max, t_min=t_min))
                for t_max in (0.6, 0.8) for t_min in (0.2, 0.4)]
    if table == 'table4':  # ranking rule x alpha
        return [_o2f(f'{ranking} alpha={alpha}', **{'model.train_cfg.assigner.ranking': ranking,
                                                    'model.train_cfg.assigner.alpha': alpha})
                for ranking in ('multiply', 'add') for alpha in (0.0, 0.6, 0.8, 1.0)]
    if table == 'table5':  # paper: COCO val, R50, 1x AP (Table 5; Hybrid-Epoch from Sec. 4.3)
        return [
            Row('FCOS', DET_FCOS, {}, 'configs/det/fcos_r50_1x.py',
                paper={'AP w/ NMS': 38.6, 'AP w/o NMS': 17.7}),
            Row('POTO', DET_POTO, {}, 'configs/det/poto_r50_1x.py', paper={'AP': 36.5}),
            Row('POTO + 3DMF', DET_POTO_3DMF, {}, 'configs/det/poto_3dmf_r50_1x.py',
                paper={'AP': 37.0}),
            Row('POTO + 3DMF + Aux', DET_POTO_3DMF_AUX, {},
                'configs/det/poto_3dmf_aux_r50_1x.py', paper={'AP (ATSS aux)': 37.6}),
            Row('Hybrid-Epoch', DET_HYBRID_EPOCH, {}, 'configs/det/fcos_hybrid_epoch_r50_1x.py',
                paper={'AP': 37.3}),
            *[Row(f'o2f, {n} conv', DET_O2F, {'model.bbox_head.centerness_branch.num_convs': n},
                  'configs/det/o2f_r50_1x.py', paper={'AP w/o NMS': ap})
              for n, ap in ((1, 38.4), (2, 38.7), (3, 39.0))],
        ]
    if table == 'table9':  # CondInst: the w/o-NMS row is the same run's w/o-NMS column
        poto = {'model.train_cfg.assigner': dict(_delete_=True, type='POTOAssigner', alpha=0.8,
                                                 center_radius=1.5, ranking='multiply'),
                'model.bbox_head.loss_bbox.centerness_weighting': False}
        return [Row('CondInst (w/ and w/o NMS)', SEG_CONDINST, {},
                    'configs/seg/condinst_r50_1x.py'),
                Row('POTO', SEG_O2F, poto, 'configs/seg/condinst_poto_1x.py'),
                Row('o2f', SEG_O2F, {}, 'configs/seg/condinst_o2f_1x.py',
                    # the authors' README lists 35.9 under "box AP" of its segmentation table
                    paper={'authors README, seg table': 35.9})]
    if table == 'fig5':
        return [Row('o2f', DET_O2F, {}, 'configs/det/o2f_r50_1x.py'),
                Row('POTO', DET_POTO, {}, 'configs/det/poto_r50_1x.py')]
    raise ValueError(f'unknown table {table!r}; choose one of {", ".join(TABLES)}')


# ---------------------------------------------------------------------------------------------
# Small-scale runs


@dataclass(frozen=True)
class Scale:
    """Data and schedule of a small-scale run."""

    image_size: int
    num_train: int
    num_val: int
    epochs: int
    batch_size: int


QUICK = Scale(image_size=64, num_train=4, num_val=2, epochs=2, batch_size=2)
# 300 iterations: ~2 min a run on one core; at 96 images (144 iterations) every row stayed under
# 10 AP and the rows could not be told apart.
SMALL = Scale(image_size=160, num_train=200, num_val=50, epochs=12, batch_size=8)


def ensure_dataset(out_dir: str, scale: Scale) -> str:
    """The synthetic dataset of this scale under ``out_dir`` (written once, then reused)."""
    from o2f_core.synthetic import write_synthetic_dataset

    root = osp.join(out_dir, f'data-{scale.image_size}px-{scale.num_train}-{scale.num_val}')
    if not osp.isfile(osp.join(root, 'annotations', 'instances_val.json')):
        write_synthetic_dataset(root, num_train=scale.num_train, num_val=scale.num_val,
                                image_size=(scale.image_size, scale.image_size), seed=0,
                                num_classes=3)
    return root + '/'


def build_config(row: Row, data_root: str, scale: Scale, seed: int, work_dir: str):
    """The row's config at this scale: demo config + row overrides + data, schedule, seed."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(REPO, row.config))
    cfg.merge_from_dict(row.overrides)
    size = (scale.image_size, scale.image_size)
    for pipeline in (cfg.train_dataloader.dataset.pipeline, cfg.val_dataloader.dataset.pipeline):
        for transform in pipeline:
            if transform.type in ('Resize', 'RandomResize'):
                transform.type, transform.scale, transform.keep_ratio = 'Resize', size, True
                transform.pop('ratio_range', None)
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.batch_size = scale.batch_size
        loader.dataset.data_root = data_root
    cfg.test_dataloader = cfg.val_dataloader
    coco = dict(cfg.val_evaluator)
    coco['ann_file'] = data_root + 'annotations/instances_val.json'
    if coco.get('metric', 'bbox') == 'bbox' or 'bbox' in coco.get('metric', []):
        coco.setdefault('metric_items', ['mAP', 'mAP_50', 'mAP_75', 'AR@100'])
    cfg.val_evaluator = [coco, dict(type='O2FDuplicateRateMetric')]
    cfg.test_evaluator = cfg.val_evaluator
    cfg.val_cfg = dict(type='O2FDualNMSValLoop')
    switch = cfg.model.get('train_cfg', {}).get('switch_epoch')
    if switch is not None:  # Hybrid-Epoch: the switch keeps its place in the shorter schedule
        fraction = switch / cfg.train_cfg.max_epochs
        cfg.model.train_cfg.switch_epoch = min(max(1, round(fraction * scale.epochs)),
                                               max(1, scale.epochs - 1))
    cfg.train_cfg.max_epochs, cfg.train_cfg.val_interval = scale.epochs, 1
    # the schedule's step and warm-up follow the shorter run
    for scheduler in cfg.get('param_scheduler', []):
        if scheduler.get('type') == 'MultiStepLR':
            scheduler.milestones = [max(1, scale.epochs - max(1, scale.epochs // 6))]
        if scheduler.get('type') == 'LinearLR' and not scheduler.get('by_epoch', True):
            scheduler.end = min(scheduler.get('end', 100), 10 * scale.epochs)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10 ** 6,
                                        save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    if 'visualization' in cfg.default_hooks:
        cfg.default_hooks.visualization = dict(type='DetVisualizationHook', draw=False)
    cfg.model.setdefault('test_cfg', {})['with_nms'] = False  # the dual loop sets both anyway
    if scale is QUICK:  # two tiny epochs score below the configs' 0.05: keep boxes to evaluate
        cfg.model.test_cfg.score_thr = 0.0
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


def run_one(row: Row, data_root: str, scale: Scale, seed: int, work_dir: str,
            name: str) -> dict:
    """Train one row with one seed; returns the last epoch's validation metrics."""
    from mmengine.runner import Runner

    cfg = build_config(row, data_root, scale, seed, work_dir)
    # mmengine shares one logger/visualizer per experiment name (default: the start second):
    # a unique name keeps each run's logs in its own work_dir
    cfg.experiment_name = name
    if cfg.get('visualizer'):
        cfg.visualizer.name = name
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = {}
    for key, buffer in runner.message_hub.log_scalars.items():
        if key.startswith('val/'):
            metrics[key[len('val/'):]] = float(buffer.current())
    return metrics


def summarize(values: Sequence[float]) -> dict:
    """Mean and sample standard deviation (0 for one value)."""
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) \
        if len(values) > 1 else 0.0
    return {'mean': mean, 'std': std, 'n': len(values)}


def markdown(table: str, rows: list[dict], quick: bool, seeds: int) -> str:
    columns = list(COLUMNS) + (list(SEG_COLUMNS) if table == 'table9' else [])
    head = ['row'] + [title for _, title in columns] + ['paper / authors (COCO, R50 1x)']
    kind = '--quick smoke run, meaningless numbers' if quick else 'synthetic shapes'
    scale = QUICK if quick else SMALL
    kind += (f'; {scale.num_train} train / {scale.num_val} val images of {scale.image_size} px, '
             f'{scale.epochs} epochs, batch {scale.batch_size}')
    lines = [f'# {table}: small scale ({kind}, {seeds} seed(s)); AP x100, duplicate rate at '
             'score 0.3 in %', '',
             '| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for row in rows:
        if row.get('missing'):
            lines.append(f'| {row["name"]} | ' + ' | '.join(['n/a'] * len(columns))
                         + f' | not run: {row["missing"]} |')
            continue
        cells = []
        for key, _ in columns:
            stats = row['summary'].get(key)
            cells.append('-' if stats is None else
                         f'{100 * stats["mean"]:.1f} ± {100 * stats["std"]:.1f}')
        paper = row.get('paper') or {}
        cells.append(', '.join(f'{k}: {v}' for k, v in paper.items()) or '-')
        lines.append(f'| {row["name"]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def full_commands(table: str, rows: Sequence[str] | None = None) -> list[str]:
    """The COCO commands (real configs, GPU) of the rows named in ``rows``, or of all rows."""
    commands = []
    for row in select_rows(table, rows):
        if row.full_config is None or not osp.isfile(osp.join(REPO, row.full_config)):
            commands.append(f'# {row.name}: {row.full_config} not available yet')
            continue
        options = []
        for key, value in row.overrides.items():
            if key == 'o2f_temperature':
                options += [f'+o2f_temperature.{k}={v}' for k, v in value.items()]
            elif isinstance(value, dict):
                options += [f'{key}.{k}={v}' for k, v in value.items() if k != '_delete_']
            else:
                options.append(f'{key}={value}')
        work = f'work_dirs/reproduce-full/{table}/{row.name.replace(" ", "_")}'
        command = ['python', 'tools/train.py', row.task, row.full_config, '--work-dir', work]
        if options:
            command += ['--cfg-options', *options]
        commands.append(shlex.join(command))
    return commands


def select_rows(table: str, names: Sequence[str] | None) -> list[Row]:
    """The rows of ``table`` named in ``names`` (all when empty), in the table's order."""
    rows = table_rows(table)
    if not names:
        return rows
    known = [row.name for row in rows]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f'--row {unknown[0]!r} is not a row of {table}; its rows: '
                         + ', '.join(repr(name) for name in known))
    return [row for row in rows if row.name in names]


def reproduce(table: str, seeds: int, quick: bool, out_dir: str,
              rows: Sequence[str] | None = None) -> dict:
    """Run the rows of ``table`` (those named in ``rows``, or all) with ``seeds`` seeds; write
    results.{json,md} and the curves."""
    import o2f_det  # noqa: F401  (registrations)
    from o2f_core.curves import plot_curves, read_run

    scale = QUICK if quick else SMALL
    table_dir = osp.join(out_dir, table)
    stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
    runs_dir = osp.join(table_dir, 'runs', stamp)
    selected = select_rows(table, rows)
    data_root = ensure_dataset(out_dir, scale)
    results, curves = [], []
    for row in selected:
        entry = {'name': row.name, 'config': row.config, 'overrides': _jsonable(row.overrides),
                 'paper': row.paper, 'missing': row.missing, 'runs': [], 'summary': {}}
        results.append(entry)
        if row.missing:
            print(f'[{table}] {row.name}: skipped ({row.missing})', flush=True)
            continue
        if row.task == 'seg':
            import o2f_seg  # noqa: F401
        for seed in range(seeds):
            slug = row.name.replace(' ', '_').replace(',', '').replace('=', '')
            work_dir = osp.join(runs_dir, slug, f'seed{seed}')
            metrics = run_one(row, data_root, scale, seed, work_dir,
                              name=f'{table}-{slug}-seed{seed}-{stamp}')
            entry['runs'].append({'seed': seed, 'work_dir': work_dir, 'metrics': metrics})
            shown = ', '.join(f'{title} {100 * metrics[key]:.1f}' for key, title in COLUMNS
                              if key in metrics)
            print(f'[{table}] {row.name} seed {seed}: {shown}', flush=True)
            if seed == 0:
                curves.append(read_run(work_dir, row.name))
        keys = {k for run in entry['runs'] for k in run['metrics']}
        entry['summary'] = {k: summarize([r['metrics'][k] for r in entry['runs']
                                          if k in r['metrics']]) for k in sorted(keys)}
        # after every row: an interrupted table keeps the rows it finished
        report = {'table': table, 'quick': quick, 'seeds': seeds, 'scale': vars(scale),
                  'runs_dir': runs_dir, 'rows': results}
        atomic_write(osp.join(table_dir, 'results.json'), json.dumps(report, indent=1) + '\n')
        atomic_write(osp.join(table_dir, 'results.md'), markdown(table, results, quick, seeds))
    if curves:
        plot_curves(curves, osp.join(table_dir, 'fig5.png' if table == 'fig5' else 'curves.png'))
    return report


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='tools/reproduce.py', description=__doc__.split('\n')[0])
    parser.add_argument('table', choices=TABLES)
    parser.add_argument('--seeds', type=int, default=3, help='seeds per row (default 3)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: 64 px, 4 training images, 2 epochs, 1 seed')
    parser.add_argument('--full', action='store_true',
                        help='print the COCO commands of the real configs (GPU)')
    parser.add_argument('--launch', action='store_true', help='with --full: run them')
    parser.add_argument('--row', action='append', metavar='NAME',
                        help='run only this row (exact name as in results.md; repeatable)')
    parser.add_argument('--out-dir', default='work_dirs/reproduce',
                        help='results go to OUT_DIR/<table>/ (default work_dirs/reproduce)')
    args = parser.parse_args(argv)
    if args.seeds < 1:
        print(f'tools/reproduce.py: error: --seeds {args.seeds}: give at least 1',
              file=sys.stderr)
        return 2
    if args.launch and not args.full:
        print('tools/reproduce.py: error: --launch runs the --full commands; add --full',
              file=sys.stderr)
        return 2
    try:
        select_rows(args.table, args.row)
    except ValueError as err:
        print(f'tools/reproduce.py: error: {err}', file=sys.stderr)
        return 2
    if args.full:
        commands = full_commands(args.table, args.row)
        print('\n'.join(commands))
        if args.launch:
            for command in commands:
                if not command.startswith('#'):
                    code = subprocess.call(shlex.split(command), cwd=REPO)
                    if code:
                        return code
        return 0
    if osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        print(f'tools/reproduce.py: error: --out-dir {args.out_dir} is a file; name a folder',
              file=sys.stderr)
        return 2
    seeds = 1 if args.quick else args.seeds
    report = reproduce(args.table, seeds, args.quick, args.out_dir, args.row)
    print(f'wrote {osp.join(args.out_dir, args.table, "results.md")} '
          f'({sum(1 for r in report["rows"] if r["runs"])} rows run)')
    return 0
