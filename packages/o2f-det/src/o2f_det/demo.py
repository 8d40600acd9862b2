"""The CPU demo (`make demo`, ``tools/demo.py``): a one-to-many detector needs NMS, o2f does not.

Steps, with a progress line every few seconds:

1. writes the synthetic shapes dataset (``o2f_core.synthetic``) to ``WORK_DIR/data`` (kept and
   reused when its parameters match; replaced only when the generator wrote it, see
   ``tools/make_synthetic.py``: any other ``data`` folder stops the demo with one line);
2. trains ``configs/det/fcos_demo_cpu.py`` and ``configs/det/o2f_demo_cpu.py`` from scratch
   (same backbone, data, schedule and seed);
3. evaluates each on the validation scenes with and without NMS: COCO AP / AP50 / AR@100 (three
   classes) and, with ``tools/eval_crowd.py``, the CrowdHuman metrics (AP, mMR, Recall, JI) of
   the same scenes as one class with ignore regions;
4. prints the table, writes ``WORK_DIR/results.json`` and the pictures of
   :mod:`o2f_det.visualization`
   (``detections_*.png``: o2f vs FCOS without NMS; ``score_maps_*.png``: the paper's Fig. 6).

Usage::

    python tools/demo.py [--work-dir work_dirs/demo] [--epochs 24] [--num-train 400]
                         [--num-val 100] [--size 160] [--seed 0] [--quick]

``--quick`` is a smoke run (tiny data, a few iterations) for the tests: the numbers mean nothing.
Runs on CUDA when available, else CPU. Bad arguments, a ``--work-dir`` that is ``/``, the home
directory, the repository or an ancestor of these, or a foreign ``WORK_DIR/data``: one error line,
exit code 2, nothing touched. Output files are written atomically (``o2f_core.io``).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
import warnings
from pathlib import Path

from o2f_core.cli import OneLineArgumentParser, exit_on_cli_error

# The demo trains the checkout's configs: this file is packages/o2f-det/src/o2f_det/demo.py of
# the repository (installed editable by `make setup`).
REPO_ROOT = str(Path(__file__).resolve().parents[4])
CONFIGS = {  # name -> config; the first one is the baseline
    'FCOS': osp.join(REPO_ROOT, 'configs', 'det', 'fcos_demo_cpu.py'),
    'o2f': osp.join(REPO_ROOT, 'configs', 'det', 'o2f_demo_cpu.py'),
}
POTO_CONFIG = osp.join(REPO_ROOT, 'configs', 'det', 'poto_demo_cpu.py')  # with --poto
NMS_SETTINGS = (('w/ NMS', True), ('w/o NMS', False))
# The early epoch whose score maps / soft labels are drawn next to the last one (Fig. 6).
EARLY_EPOCH = 1
PROGRESS_EVERY_S = 30.0
# Files the demo writes directly into WORK_DIR (checked before any work starts).
RESULT_FILES = ('results.json', 'results.md', 'detections_no_nms.png', 'score_maps_fig6.png')


def parse_args(argv):
    """The demo's options (defaults depend on ``--quick``); a bad one raises ``CliError``."""
    parser = OneLineArgumentParser(prog='tools/demo.py', description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo', help='outputs go here')
    parser.add_argument('--epochs', type=int, default=None, help='training epochs (default 24)')
    parser.add_argument('--num-train', type=int, default=None, help='training images (400)')
    parser.add_argument('--num-val', type=int, default=None, help='validation images (100)')
    parser.add_argument('--size', type=int, default=None, help='square image side (160)')
    parser.add_argument('--seed', type=int, default=0, help='data and training seed')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: 16 + 8 images of 96 px, 2 epochs (numbers mean nothing)')
    parser.add_argument('--no-crowd', action='store_true', help='skip the CrowdHuman metrics')
    parser.add_argument('--poto', action='store_true',
                        help='also train the POTO (one-to-one) baseline (one more training)')
    parser.add_argument('--jobs', type=int, default=2,
                        help='trainings run side by side (default 2: both at once)')
    args = parser.parse_args(argv)
    defaults = dict(epochs=2, num_train=16, num_val=8, size=96) if args.quick else dict(
        epochs=24, num_train=400, num_val=100, size=160)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if min(args.epochs, args.num_train, args.num_val, args.jobs) < 1 or args.seed < 0:
        parser.error('--epochs, --num-train, --num-val and --jobs must be >= 1, --seed >= 0')
    if not 64 <= args.size <= 1024 or args.size % 32:
        parser.error(f'--size must be a multiple of 32 in [64, 1024], got {args.size}')
    return args


def log(message: str) -> None:
    print(message, flush=True)


def _fmt_time(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f'{seconds // 60}:{seconds % 60:02d}'


# ------------------------------------------------------------------------------------ data


def prepare_data(args) -> str:
    """Write (or reuse) the synthetic dataset; returns its directory."""
    from o2f_core.synthetic import read_meta, write_synthetic_dataset

    data_dir = osp.join(args.work_dir, 'data')
    params = dict(num_train=args.num_train, num_val=args.num_val,
                  image_size=(args.size, args.size), seed=args.seed, num_classes=3)
    meta = read_meta(data_dir)
    wanted = {**params, 'image_size': [args.size, args.size]}
    if meta is not None and all(meta['params'].get(k) == v for k, v in wanted.items()):
        log(f'[data] reusing {data_dir}')
        return data_dir
    start = time.time()
    # Replaces data_dir only when the generator wrote it (or it is empty): never a user's data.
    result = write_synthetic_dataset(data_dir, overwrite=True, what="--work-dir's data folder",
                                     **params)
    if result['old_tree_left']:
        log(f"[data] warning: the previous dataset could not be deleted completely; what is left "
            f"of it is in {result['old_tree_left']} (delete it yourself)")
    stats = result['stats']
    log(f"[data] wrote {data_dir}: {stats['train']['num_images']} train / "
        f"{stats['val']['num_images']} val images of {args.size}x{args.size}, "
        f"{stats['train']['num_objects']} + {stats['val']['num_objects']} objects "
        f"({stats['val']['num_group_objects']} of the val objects in crowded groups) "
        f"in {time.time() - start:.1f} s")
    return data_dir


# ------------------------------------------------------------------------------------ training


def make_progress_hook(name: str, snapshot_dir: str, early_epoch: int):
    """An mmengine hook printing one progress line per epoch (and every ``PROGRESS_EVERY_S``
    within one) and saving the weights after ``early_epoch`` for the Fig. 6 picture."""
    from mmengine.hooks import Hook

    class DemoProgressHook(Hook):
        priority = 'VERY_LOW'

        def before_train(self, runner):
            self.start = self.last_print = time.time()
            self.total_iters = runner.max_epochs * len(runner.train_dataloader)

        def before_train_epoch(self, runner):
            self.loss_sum, self.loss_count = 0.0, 0

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if outputs is not None and 'loss' in outputs:
                self.loss_sum += float(outputs['loss'])
                self.loss_count += 1
            if time.time() - self.last_print >= PROGRESS_EVERY_S:
                self._print(runner, batch_idx + 1)

        def after_train_epoch(self, runner):
            self._print(runner, len(runner.train_dataloader))
            if runner.epoch + 1 == early_epoch:  # runner.epoch is still 0-based here
                runner.save_checkpoint(snapshot_dir, f'epoch_{early_epoch}.pth',
                                       save_optimizer=False, save_param_scheduler=False)

        def _print(self, runner, iters_in_epoch):
            self.last_print = time.time()
            done = runner.epoch * len(runner.train_dataloader) + iters_in_epoch
            elapsed = time.time() - self.start
            left = elapsed / max(done, 1) * (self.total_iters - done)
            loss = self.loss_sum / max(self.loss_count, 1)
            temperature = runner.message_hub.get_scalar('train/o2f_temperature') if (
                'train/o2f_temperature' in runner.message_hub.log_scalars) else None
            t_text = '' if temperature is None else f'  T={temperature.current():.2f}'
            log(f'[{name:>4}] epoch {runner.epoch + 1}/{runner.max_epochs} '
                f'{100 * done / self.total_iters:5.1f}%  loss {loss:.3f}{t_text}  '
                f'{_fmt_time(elapsed)} elapsed, ~{_fmt_time(left)} left')

    return DemoProgressHook()


def configure_demo_training(cfg, scale: tuple[int, int], epochs: int, num_train: int, seed: int,
                            work_dir: str) -> None:
    """The demos' shared CPU schedule, in place: images resized to ``scale`` (w, h), ``epochs``
    epochs with a 100-iteration warm-up and lr x0.1 for the last ~1/6, one final checkpoint,
    quiet logs, and no validation during training (the demos evaluate afterwards, with and
    without NMS)."""
    for loader in ('train_dataloader', 'test_dataloader'):
        cfg[loader].dataset.pipeline = [
            dict(step, scale=scale) if step['type'] == 'Resize' else step
            for step in cfg[loader].dataset.pipeline]
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs + 1
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    milestone = max(1, epochs - max(1, epochs // 6))
    iters = epochs * math.ceil(num_train / cfg.train_dataloader.batch_size)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=min(100, iters)),
        dict(type='MultiStepLR', by_epoch=True, milestones=[milestone], gamma=0.1),
    ]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=epochs,
                                        max_keep_ckpts=1, save_optimizer=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.load_from = None  # evaluation weights are loaded strictly, apart


def build_runner(name: str, config: str, data_dir: str, work_dir: str, args,
                 load_from: str | None = None):
    """The mmengine Runner of one demo config, pointed at ``data_dir`` and quiet.

    For training (``load_from`` None) it gets the progress hook; for evaluation the weights of
    ``load_from`` are loaded.
    """
    from mmengine.runner import Runner

    from o2f_core.cli import load_task_config
    from o2f_det.visualization import set_data_root

    cfg = load_task_config(config, 'det')
    set_data_root(cfg, data_dir)
    configure_demo_training(cfg, (args.size, args.size), args.epochs, args.num_train, args.seed,
                            work_dir)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' "loading annotations"
        runner = Runner.from_cfg(cfg)
    if load_from is None:
        runner.register_hook(make_progress_hook(name, work_dir, EARLY_EPOCH))
    else:
        from o2f_core.engine import load_checkpoint_strict

        # The demo's own checkpoint, but still never a result from weights that do not fit.
        load_checkpoint_strict(runner.model, load_from)
    return runner


def train_one(name: str, config: str, data_dir: str, work_dir: str, args,
              threads: int) -> None:
    """Train one demo detector (run in a child process, ``threads`` torch threads)."""
    import torch

    import o2f_det  # noqa: F401  (registers the heads in this process)
    from o2f_core.engine import install_checkpoint_support

    install_checkpoint_support()  # the checkpoints load back with weights_only
    torch.set_num_threads(threads)
    runner = build_runner(name, config, data_dir, work_dir, args)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' "loading annotations"
        runner.train_loop  # noqa: B018  (builds the loop and its dataset, reused by train())
    runner.train()


def detector_configs(args) -> dict:
    """name -> config of the detectors this run trains."""
    return {**CONFIGS, 'POTO': POTO_CONFIG} if args.poto else dict(CONFIGS)


def train_all(data_dir: str, args) -> dict:
    """Train every demo detector, in parallel processes when ``args.jobs > 1``.

    Returns:
        dict: name -> (final checkpoint path, training seconds).
    """
    trainings = [(name, osp.join(args.work_dir, name.lower()), train_one,
                  (name, config, data_dir, osp.join(args.work_dir, name.lower()), args))
                 for name, config in detector_configs(args).items()]
    return run_trainings(trainings, args.jobs,
                         {name: config for name, config in detector_configs(args).items()})


def run_trainings(trainings: list, jobs: int, configs: dict | None = None) -> dict:
    """Run training functions in spawned processes, ``jobs`` at a time.

    Small convolutions use two cores poorly within one process, so on a 2-core machine two
    single-threaded trainings side by side finish sooner than two two-threaded ones in a row.

    Args:
        trainings (list): ``(name, work_dir, target, args)``; ``target(*args, threads)`` trains
            and leaves mmengine's ``work_dir/last_checkpoint``.
        jobs (int): Trainings at a time.
        configs (dict, optional): name -> config path, for the progress line.

    Returns:
        dict: name -> (final checkpoint path, training seconds).
    """
    import multiprocessing

    jobs = max(1, min(jobs, len(trainings)))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context('spawn')  # a clean torch in every child
    pending = list(trainings)
    running: dict[str, tuple] = {}
    done = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                name, work_dir, target, target_args = pending.pop(0)
                config = (configs or {}).get(name)
                what = f'{osp.relpath(config, REPO_ROOT)} ' if config else ''
                log(f'[{name:>4}] training {what}'
                    f'({threads} thread{"s" if threads > 1 else ""}) ...')
                process = context.Process(target=target, name=f'train-{name}',
                                          args=(*target_args, threads))
                process.start()
                running[name] = (process, work_dir, time.time())
            for name, (process, work_dir, start) in list(running.items()):
                process.join(timeout=0.5)
                if process.exitcode is None:
                    continue
                del running[name]
                if process.exitcode != 0:  # the others are stopped below
                    raise RuntimeError(f'training {name} failed (exit code {process.exitcode}); '
                                       f'see the messages above and {work_dir}')
                with open(osp.join(work_dir, 'last_checkpoint')) as file:
                    done[name] = (file.read().strip(), time.time() - start)
    except BaseException:  # Ctrl-C / SIGTERM / a failure: no training keeps running
        for process, _, _ in running.values():
            process.terminate()
            process.join(timeout=10)
        raise
    return done


# ------------------------------------------------------------------------------------ evaluation


def predict_dataset(runner, with_nms: bool):
    """Run the test set once; returns the per-image predictions (numpy) and the COCO metrics.

    Returns:
        tuple: ``predictions`` list of dicts ``{img_id, img_path, bboxes (K, 4) xyxy, scores (K,),
        labels (K,)}`` in dataset order, and ``metrics`` (CocoMetric's dict).
    """
    from o2f_core.eval_runner import collect_predictions, switch_nms

    switch_nms(runner.model, with_nms)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' "loading annotations"
        loop = runner.test_loop  # built once: its dataloader and CocoMetric (dataset_meta set)
    dataloader, evaluator = loop.dataloader, loop.evaluator
    predictions = collect_predictions(runner.model, dataloader, evaluator)
    # pycocotools prints its summary on stdout: keep the demo's output readable.
    with contextlib.redirect_stdout(io.StringIO()):
        metrics = evaluator.evaluate(len(dataloader.dataset))
    return predictions, metrics


def crowd_metrics(predictions, data_dir: str, out_dir: str, tag: str) -> dict | None:
    """CrowdHuman metrics of ``predictions`` (all classes as one) with ``tools/eval_crowd.py``'s
    code (:mod:`o2f_crowd.cli`, in a child process)."""
    from o2f_core.io import atomic_write

    dt_path = osp.join(out_dir, f'crowd_dt_{tag}.odgt')
    json_path = osp.join(out_dir, f'crowd_metrics_{tag}.json')
    lines = []
    for pred in predictions:
        boxes = pred['bboxes']
        dtboxes = [dict(box=[round(float(x1), 2), round(float(y1), 2), round(float(x2 - x1), 2),
                             round(float(y2 - y1), 2)], score=round(float(s), 5), tag=1)
                   for (x1, y1, x2, y2), s in zip(boxes, pred['scores'], strict=True)]
        lines.append(json.dumps(dict(ID=f"val_{pred['img_id']:06d}", dtboxes=dtboxes)))
    gt_path = osp.join(data_dir, 'annotations', 'crowd_val.odgt')
    atomic_write(dt_path, '\n'.join(lines) + '\n', inputs=[gt_path], what='detections file')
    run = subprocess.run([sys.executable, '-m', 'o2f_crowd.cli',
                          '--gt', gt_path, '--dt', dt_path, '--json', json_path],
                         capture_output=True, text=True)
    if run.returncode != 0:
        log(f'[crowd] tools/eval_crowd.py failed ({run.stderr.strip()}); crowd metrics skipped')
        return None
    with open(json_path) as file:
        return json.load(file)


# ------------------------------------------------------------------------------------ report


def check_work_dir(args) -> None:
    """Refuse, before any work, a work dir whose files the demo must not touch.

    Raises:
        o2f_core.io.UnsafeOutputError: ``/``, home, the repository or an ancestor of these (the
            current directory itself is fine), or a result file that cannot be written.
    """
    from o2f_core.io import check_not_protected, check_output_path

    check_not_protected(args.work_dir, '--work-dir', allow_cwd=True)
    data_files = [osp.join(args.work_dir, 'data', 'annotations', name) for name in (
        'instances_train.json', 'instances_val.json', 'crowd_train.odgt', 'crowd_val.odgt')]
    for name in RESULT_FILES:
        check_output_path(osp.join(args.work_dir, name), inputs=data_files, what='demo output')


def format_tables(results: dict) -> str:
    """The COCO table, the crowd table (when present) and the one-line verdict."""
    lines = ['| detector | NMS | AP | AP50 | AR@100 |', '|---|---|---|---|---|']
    for name, per_nms in results['detectors'].items():
        for label, _ in NMS_SETTINGS:
            coco = per_nms[label]['coco']
            lines.append(f"| {name} | {label} | {100 * coco['AP']:.1f} | "
                         f"{100 * coco['AP50']:.1f} | {100 * coco['AR@100']:.1f} |")
    if all(per_nms[label].get('crowd') for per_nms in results['detectors'].values()
           for label, _ in NMS_SETTINGS):
        lines += ['', 'Crowded one-class scenes (CrowdHuman rules; mMR: lower is better):', '',
                  '| detector | NMS | AP | mMR | Recall | JI |', '|---|---|---|---|---|---|']
        for name, per_nms in results['detectors'].items():
            for label, _ in NMS_SETTINGS:
                crowd = per_nms[label]['crowd']
                lines.append(f"| {name} | {label} | {100 * crowd['AP']:.1f} | "
                             f"{100 * crowd['mMR']:.1f} | {100 * crowd['Recall']:.1f} | "
                             f"{100 * crowd['JI']:.1f} |")
    lines.append('')
    for name, per_nms in results['detectors'].items():
        with_nms, without = per_nms['w/ NMS']['coco']['AP'], per_nms['w/o NMS']['coco']['AP']
        kept = f'{100 * without / with_nms:.0f}%' if with_nms > 0 else 'n/a'
        lines.append(f'{name}: AP {100 * with_nms:.1f} with NMS, {100 * without:.1f} without '
                     f'({kept} kept without NMS)')
    return '\n'.join(lines)


def _quiet_warnings() -> None:
    """Library deprecation chatter would bury the progress lines (children inherit this)."""
    quiet = 'ignore::UserWarning,ignore::DeprecationWarning,ignore::FutureWarning'
    os.environ['PYTHONWARNINGS'] = quiet
    for category in (UserWarning, DeprecationWarning, FutureWarning):
        warnings.filterwarnings('ignore', category=category)


@exit_on_cli_error
def main(argv: list[str] | None = None) -> int:
    """``tools/demo.py``: train, evaluate, draw; returns the exit code (2 on a user error)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _quiet_warnings()
    from o2f_core.io import atomic_write, install_termination_handlers

    install_termination_handlers()  # SIGTERM removes staging folders and temporaries too
    try:
        check_work_dir(args)
        os.makedirs(args.work_dir, exist_ok=True)
        demo_start = time.time()
        log(f'o2f demo: FCOS (one-to-many) vs o2f (one-to-few) on synthetic shapes, '
            f'{args.epochs} epochs each, outputs in {args.work_dir}/')
        data_dir = prepare_data(args)
    except (ValueError, OSError) as error:  # UnsafeOutputError is a ValueError
        detail = (f'{error.strerror}: {error.filename}' if isinstance(error, OSError)
                  and error.strerror else error)
        print(f'tools/demo.py: error: {detail}', file=sys.stderr)
        return 2

    import torch

    import o2f_det  # noqa: F401  (registers the heads)
    from o2f_core.engine import install_checkpoint_support
    from o2f_det.visualization import draw_detection_comparison, draw_score_maps

    install_checkpoint_support()  # the trained checkpoints are loaded back below
    torch.manual_seed(args.seed)

    results = dict(settings=dict(epochs=args.epochs, num_train=args.num_train,
                                 num_val=args.num_val, image_size=args.size, seed=args.seed,
                                 quick=args.quick,
                                 device='cuda' if torch.cuda.is_available() else 'cpu'),
                   detectors={}, pictures=[])
    trained = train_all(data_dir, args)
    runners = {}
    for name, config in detector_configs(args).items():
        checkpoint, train_s = trained[name]
        work_dir = osp.join(args.work_dir, name.lower())
        runner = build_runner(name, config, data_dir, work_dir, args, load_from=checkpoint)
        per_nms = {'train_seconds': round(train_s, 1)}
        for label, with_nms in NMS_SETTINGS:
            log(f'[{name:>4}] evaluating {label} ...')
            predictions, metrics = predict_dataset(runner, with_nms)
            # CocoMetric returns no numbers when no image has a detection: that is AP 0.
            coco = {short: float(metrics.get(f'coco/bbox_{key}', 0.0)) for short, key in (
                ('AP', 'mAP'), ('AP50', 'mAP_50'), ('AP75', 'mAP_75'), ('AR@100', 'AR@100'))}
            entry = {'coco': coco, 'mean_boxes_per_image':
                     round(sum(len(p['scores']) for p in predictions) / len(predictions), 1)}
            if not args.no_crowd:
                tag = f"{name.lower()}_{'nms' if with_nms else 'nonms'}"
                entry['crowd'] = crowd_metrics(predictions, data_dir, work_dir, tag)
            per_nms[label] = entry
            per_nms.setdefault('_predictions', {})[label] = predictions
        log(f'[{name:>4}] trained in {_fmt_time(train_s)}; AP '
            f'{100 * per_nms["w/ NMS"]["coco"]["AP"]:.1f} with NMS, '
            f'{100 * per_nms["w/o NMS"]["coco"]["AP"]:.1f} without')
        results['detectors'][name] = per_nms
        runners[name] = runner

    predictions = {name: per_nms.pop('_predictions')
                   for name, per_nms in results['detectors'].items()}
    log('[pics] drawing ...')
    results['pictures'] += draw_detection_comparison(
        predictions={name: preds['w/o NMS'] for name, preds in predictions.items()},
        ann_file=osp.join(data_dir, 'annotations', 'instances_val.json'),
        out_dir=args.work_dir)
    o2f_runner = runners['o2f']
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' "loading annotations"
        train_dataset = o2f_runner.train_dataloader.dataset
    results['pictures'] += draw_score_maps(
        model=o2f_runner.model, dataset=train_dataset,
        checkpoints={EARLY_EPOCH: osp.join(args.work_dir, 'o2f', f'epoch_{EARLY_EPOCH}.pth'),
                     args.epochs: None},
        max_epochs=args.epochs, out_dir=args.work_dir)

    results['wall_seconds'] = round(time.time() - demo_start, 1)
    table = format_tables(results)
    atomic_write(osp.join(args.work_dir, 'results.json'),
                 json.dumps(results, indent=2, sort_keys=True) + '\n', what='demo output')
    atomic_write(osp.join(args.work_dir, 'results.md'), table + '\n', what='demo output')
    log('')
    log(table)
    log('')
    log(f'Done in {_fmt_time(results["wall_seconds"])}. Table: {args.work_dir}/results.md, '
        f'numbers: {args.work_dir}/results.json, pictures: '
        + ', '.join(osp.join(args.work_dir, p) for p in results['pictures']))
    return 0
