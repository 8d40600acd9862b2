"""One prepared check of a GPU machine (``tools/gpu_check.py``): is the o2f stack ready to train?

In at most ~10 minutes on one GPU, without network or datasets (random images, backbone
``init_cfg=None``), it measures and reports:

1. ``versions``: Python, torch, CUDA/cuDNN, the GPU, mmcv (and the CUDA it was compiled with),
   mmdet, mmengine;
2. ``mmcv_ops``: mmcv's CUDA ops: ``nms`` and ``batched_nms`` on a random batch give exactly the
   CPU result, ``sigmoid_focal_loss`` matches its formula written in plain torch;
3. ``train_fp32`` / ``train_amp``: N training iterations (default 50) of
   ``configs/det/o2f_r50_1x.py`` at 800x1333 on random images, without and with AMP
   (``AmpOptimWrapper``, as ``tools/train.py --amp``): every loss finite, seconds per iteration,
   peak GPU memory;
4. ``inference``: images/s of o2f (no NMS) vs FCOS (with NMS) at 800x1333, batch 1;
5. ``ddp``: a 1-process nccl process group, an all-reduce and a few DDP training steps.

It writes one JSON report (schema :data:`SCHEMA`, checked by :func:`validate_report`) and one
markdown table, both atomically (``o2f_core.io``). Without a CUDA GPU it exits 2 with one line;
``--dry-run`` runs the same code on CPU with tiny sizes (what the CPU tests exercise). Exit code:
0 when every check passed, 1 when one failed (its error is in the report), 2 for bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import os.path as osp
import platform
import socket
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence

from o2f_det.cli_common import CliError, OneLineArgumentParser, exit_on_cli_error

SCHEMA = 'o2f-gpu-check/1'
CHECKS = ('versions', 'mmcv_ops', 'train_fp32', 'train_amp', 'inference', 'ddp')
STATUSES = ('ok', 'failed', 'skipped')
# The checkout this module lives in (packages/o2f-det/src/o2f_det/): where configs/ is found.
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__))))))
O2F_CONFIG = 'configs/det/o2f_r50_1x.py'
FCOS_CONFIG = 'configs/det/fcos_r50_1x.py'
# Keys every check's entry has, and the measurements each check adds when it passed.
ENTRY_KEYS = {'name', 'status', 'seconds', 'error'}
RESULT_KEYS = {
    'versions': {'python', 'torch', 'torch_cuda', 'cudnn', 'gpu', 'capability', 'mmcv',
                 'mmcv_compiled_cuda', 'mmdet', 'mmengine'},
    'mmcv_ops': {'nms_boxes', 'nms_kept', 'nms_equal_cpu', 'batched_nms_equal_cpu',
                 'focal_loss_max_abs_diff'},
    'train_fp32': {'iters', 'batch_size', 'image_hw', 'loss_first', 'loss_last', 'all_finite',
                   'first_iter_s', 's_per_iter', 'peak_mem_mib'},
    'train_amp': {'iters', 'batch_size', 'image_hw', 'loss_first', 'loss_last', 'all_finite',
                  'first_iter_s', 's_per_iter', 'peak_mem_mib'},
    'inference': {'images', 'image_hw', 'o2f_fps', 'fcos_fps', 'o2f_ms', 'fcos_ms',
                  'o2f_dets_per_img', 'fcos_dets_per_img'},
    'ddp': {'backend', 'world_size', 'all_reduce_ok', 'steps', 'all_finite'},
}
DRY_RUN = dict(image_hw=(64, 96), iters=2, batch_size=1, fps_images=1, ddp_steps=1)
WARMUP_IMAGES = 5  # inference warm-up per detector (1 in the dry run)


# ----------------------------------------------------------------------------- arguments
def build_parser() -> OneLineArgumentParser:
    parser = OneLineArgumentParser(prog='tools/gpu_check.py',
                                   description=__doc__.split('\n\n')[0])
    parser.add_argument('--out-dir', default='work_dirs/gpu_check',
                        help='folder for gpu_check.json and gpu_check.md')
    parser.add_argument('--only', default=','.join(CHECKS),
                        help=f'comma-separated subset of {",".join(CHECKS)}')
    parser.add_argument('--iters', type=int, default=50, help='training iterations per mode')
    parser.add_argument('--batch-size', type=int, default=2, help='images per training step')
    parser.add_argument('--image-size', default='800,1333', help='H,W of the random images')
    parser.add_argument('--fps-images', type=int, default=50,
                        help=f'timed images per detector (after {WARMUP_IMAGES} warm-up images)')
    parser.add_argument('--ddp-steps', type=int, default=3, help='DDP training steps')
    parser.add_argument('--budget-s', type=float, default=600.0,
                        help='checks not started within this many seconds are skipped')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--dry-run', action='store_true',
                        help='run every check on CPU with tiny sizes (tests the code path, '
                        'measures nothing useful)')
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and check the arguments; raises :class:`CliError` (one line) on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.only = [part.strip() for part in args.only.split(',') if part.strip()]
    unknown = sorted(set(args.only) - set(CHECKS))
    if unknown or not args.only:
        parser.error(f'--only takes a subset of {",".join(CHECKS)}, got {unknown or "nothing"}')
    try:
        height, width = (int(v) for v in args.image_size.split(','))
    except ValueError:
        parser.error(f'--image-size takes H,W (two integers), got {args.image_size!r}')
    if min(height, width) < 32:
        parser.error(f'--image-size {args.image_size}: each side must be >= 32 pixels')
    args.image_hw = (height, width)
    for name in ('iters', 'batch_size', 'fps_images', 'ddp_steps'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    if not args.budget_s > 0:
        parser.error(f'--budget-s must be > 0, got {args.budget_s}')
    if args.dry_run:  # the same code path, sized for a CPU test
        args.image_hw = DRY_RUN['image_hw']
        for name in ('iters', 'batch_size', 'fps_images', 'ddp_steps'):
            setattr(args, name, min(getattr(args, name), DRY_RUN[name]))
    return args


# ----------------------------------------------------------------------------- the report
def build_report(results: Sequence[dict], settings: dict, total_seconds: float,
                 created: str | None = None) -> dict:
    """Assemble the JSON report from the checks' entries (see :func:`run_check`).

    Args:
        results: one entry per check that was asked for, in order.
        settings: the run's settings (device, sizes, dry_run, ...).
        total_seconds: wall time of the whole run.
        created: ISO-8601 UTC time stamp (default: now).

    Returns:
        dict: ``{'schema', 'created', 'settings', 'checks', 'passed', 'total_seconds'}``;
        ``passed`` is True when no check failed (skipped checks do not fail the run).
    """
    created = created or datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')
    report = dict(schema=SCHEMA, created=created, settings=dict(settings),
                  checks=[dict(entry) for entry in results],
                  passed=all(entry['status'] != 'failed' for entry in results),
                  total_seconds=round(float(total_seconds), 3))
    validate_report(report)
    return report


def validate_report(report: dict) -> None:
    """Raise ValueError naming the first part of ``report`` that breaks the schema."""
    for key in ('schema', 'created', 'settings', 'checks', 'passed', 'total_seconds'):
        if key not in report:
            raise ValueError(f'report lacks {key!r}')
    if report['schema'] != SCHEMA:
        raise ValueError(f'report schema {report["schema"]!r}, expected {SCHEMA!r}')
    names = [entry.get('name') for entry in report['checks']]
    if len(set(names)) != len(names) or not set(names) <= set(CHECKS):
        raise ValueError(f'check names {names}: each once, from {CHECKS}')
    for entry in report['checks']:
        missing = ENTRY_KEYS - set(entry)
        if missing:
            raise ValueError(f'check {entry.get("name")!r} lacks {sorted(missing)}')
        if entry['status'] not in STATUSES:
            raise ValueError(f'check {entry["name"]!r}: status {entry["status"]!r} not in '
                             f'{STATUSES}')
        if entry['status'] == 'ok':
            missing = RESULT_KEYS[entry['name']] - set(entry)
            if missing:
                raise ValueError(f'check {entry["name"]!r} passed without {sorted(missing)}')
        elif not entry['error']:
            raise ValueError(f'check {entry["name"]!r} {entry["status"]} without a reason')
    if report['passed'] != all(e['status'] != 'failed' for e in report['checks']):
        raise ValueError('report "passed" disagrees with the checks')
    json.dumps(report, allow_nan=False)  # plain JSON: no NaN/inf, no tensors


def _fmt(value) -> str:
    if isinstance(value, bool):
        return 'yes' if value else 'NO'
    if isinstance(value, float):
        return f'{value:.4g}'
    if isinstance(value, list | tuple):
        return 'x'.join(str(v) for v in value)
    return str(value)


SUMMARY_KEYS = {
    'versions': ('gpu', 'capability', 'torch', 'torch_cuda', 'cudnn', 'mmcv',
                 'mmcv_compiled_cuda', 'mmdet', 'mmengine', 'python'),
    'mmcv_ops': ('nms_boxes', 'nms_kept', 'nms_equal_cpu', 'batched_nms_equal_cpu',
                 'focal_loss_max_abs_diff'),
    'train_fp32': ('image_hw', 'batch_size', 'iters', 'all_finite', 'loss_first', 'loss_last',
                   's_per_iter', 'first_iter_s', 'peak_mem_mib'),
    'train_amp': ('image_hw', 'batch_size', 'iters', 'all_finite', 'loss_first', 'loss_last',
                  's_per_iter', 'first_iter_s', 'peak_mem_mib'),
    'inference': ('image_hw', 'images', 'o2f_fps', 'fcos_fps', 'o2f_ms', 'fcos_ms',
                  'o2f_dets_per_img', 'fcos_dets_per_img'),
    'ddp': ('backend', 'world_size', 'all_reduce_ok', 'steps', 'all_finite'),
}


def render_markdown(report: dict) -> str:
    """The report as one markdown table (a row per check) under a one-line header."""
    settings = report['settings']
    verdict = 'PASSED' if report['passed'] else 'FAILED'
    lines = [f"o2f GPU check {verdict} ({report['created']}, {settings.get('device', '?')}"
             f"{', dry run on CPU' if settings.get('dry_run') else ''}, "
             f"{report['total_seconds']:.0f} s)", '',
             '| check | status | s | result |', '|---|---|---|---|']
    for entry in report['checks']:
        if entry['status'] == 'ok':
            result = ', '.join(f'{key} {_fmt(entry[key])}'
                               for key in SUMMARY_KEYS[entry['name']] if key in entry)
        else:
            result = str(entry['error'])
        result = result.replace('|', '/').replace('\n', ' ')
        lines.append(f"| {entry['name']} | {entry['status']} | {entry['seconds']:.1f} | "
                     f'{result} |')
    return '\n'.join(lines) + '\n'


# ----------------------------------------------------------------------------- the checks
def run_check(name: str, func: Callable[[], dict], deadline: float) -> dict:
    """Run one check; a failure is recorded (type, message, last frame), never raised."""
    if time.monotonic() > deadline:
        return dict(name=name, status='skipped', seconds=0.0,
                    error='time budget (--budget-s) used up before this check')
    start = time.monotonic()
    try:
        measured = func()
    except Exception as err:  # noqa: BLE001 - every failure is a result of the check
        frame = traceback.extract_tb(err.__traceback__)[-1]
        where = f'{osp.basename(frame.filename)}:{frame.lineno}'
        message = ' '.join(str(err).split())[:300]
        return dict(name=name, status='failed', seconds=round(time.monotonic() - start, 3),
                    error=f'{type(err).__name__} at {where}: {message}')
    finally:
        _release_memory()
    status = measured.pop('status', 'ok')
    entry = dict(name=name, status=status, seconds=round(time.monotonic() - start, 3),
                 error=measured.pop('error', None))
    entry.update(measured)
    return entry


def _release_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def check_versions(device) -> dict:
    import mmcv
    import mmdet
    import mmengine
    import torch
    from mmcv.ops import get_compiling_cuda_version

    on_gpu = device.type == 'cuda'
    return dict(
        python=platform.python_version(), torch=torch.__version__,
        torch_cuda=torch.version.cuda or 'none',
        cudnn=str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else
        'none',
        gpu=torch.cuda.get_device_name(device) if on_gpu else f'none (cpu, {os.cpu_count()} cores)',
        capability='.'.join(map(str, torch.cuda.get_device_capability(device))) if on_gpu else
        'none',
        mmcv=mmcv.__version__, mmcv_compiled_cuda=get_compiling_cuda_version(),
        mmdet=mmdet.__version__, mmengine=mmengine.__version__)


def _random_boxes(generator, count: int, height: int, width: int):
    import torch

    centres = torch.rand(count, 2, generator=generator) * torch.tensor([width, height])
    sides = torch.exp(torch.empty(count, 2).uniform_(2.5, 6.0, generator=generator))
    x1y1 = (centres - sides / 2).clamp(min=0)
    x2y2 = torch.minimum(centres + sides / 2, torch.tensor([width, height], dtype=torch.float))
    return torch.cat([x1y1, torch.maximum(x2y2, x1y1 + 2)], dim=1)


def check_mmcv_ops(device, seed: int, num_boxes: int = 4000) -> dict:
    """nms / batched_nms on ``device`` equal to CPU; sigmoid_focal_loss vs plain torch."""
    import torch
    import torch.nn.functional as F
    from mmcv.ops import batched_nms, nms, sigmoid_focal_loss

    generator = torch.Generator().manual_seed(seed)
    boxes = _random_boxes(generator, num_boxes, 800, 1333)
    scores = torch.rand(num_boxes, generator=generator)
    classes = torch.randint(0, 80, (num_boxes,), generator=generator)
    _, keep_cpu = nms(boxes, scores, iou_threshold=0.5)
    _, keep_dev = nms(boxes.to(device), scores.to(device), iou_threshold=0.5)
    nms_cfg = dict(type='nms', iou_threshold=0.6)
    _, bkeep_cpu = batched_nms(boxes, scores, classes, nms_cfg)
    _, bkeep_dev = batched_nms(boxes.to(device), scores.to(device), classes.to(device), nms_cfg)
    result = dict(nms_boxes=num_boxes, nms_kept=len(keep_cpu),
                  nms_equal_cpu=torch.equal(keep_cpu, keep_dev.cpu()),
                  batched_nms_equal_cpu=torch.equal(bkeep_cpu, bkeep_dev.cpu()))
    if device.type != 'cuda':  # mmcv's sigmoid_focal_loss has no CPU kernel
        result['focal_loss_max_abs_diff'] = None
        return result
    logits = torch.randn(512, 80, generator=generator).to(device)
    labels = torch.randint(0, 81, (512,), generator=generator).to(device)  # 80 = background
    gamma, alpha = 2.0, 0.25
    mmcv_loss = sigmoid_focal_loss(logits, labels, gamma, alpha, None, 'none')
    one_hot = F.one_hot(labels, 81)[:, :80].float()
    prob = logits.sigmoid()
    p_t = prob * one_hot + (1 - prob) * (1 - one_hot)
    weight = (alpha * one_hot + (1 - alpha) * (1 - one_hot)) * (1 - p_t).pow(gamma)
    torch_loss = weight * F.binary_cross_entropy_with_logits(logits, one_hot, reduction='none')
    result['focal_loss_max_abs_diff'] = float((mmcv_loss - torch_loss).abs().max())
    return result


def _load_detector_cfg(config: str):
    from o2f_det.cli_common import load_task_config

    cfg = load_task_config(osp.join(REPO_ROOT, config), 'det')
    cfg.model.backbone.init_cfg = None  # no download: random backbone weights
    return cfg


def _build_model(cfg, device):
    from mmdet.registry import MODELS

    from o2f_core.engine import set_model_temperature

    model = MODELS.build(cfg.model)
    model.init_weights()
    # No Runner (hence no O2FTemperatureHook) here: set the first epoch's T as the hook would.
    hook = next((h for h in cfg.get('custom_hooks', []) if h.get('type') == 'O2FTemperatureHook'),
                {})
    set_model_temperature(model, float(hook.get('t_max', 0.6)))
    return model.to(device)


def _random_batch(generator, count: int, image_hw: tuple[int, int], with_gt: bool) -> dict:
    """``count`` random uint8 images (3, H, W) with 3-12 random boxes each, as mmdet's loader."""
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    height, width = image_hw
    inputs, samples = [], []
    for _ in range(count):
        inputs.append(torch.randint(0, 256, (3, height, width), generator=generator,
                                    dtype=torch.uint8))
        sample = DetDataSample(metainfo=dict(img_shape=image_hw, ori_shape=image_hw,
                                             pad_shape=image_hw, scale_factor=(1.0, 1.0),
                                             batch_input_shape=image_hw))
        if with_gt:
            num = int(torch.randint(3, 13, (1,), generator=generator))
            sample.gt_instances = InstanceData(
                bboxes=_random_boxes(generator, num, height, width),
                labels=torch.randint(0, 80, (num,), generator=generator))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _sync(device) -> None:
    import torch

    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def check_train(device, args, amp: bool) -> dict:
    """``args.iters`` steps of the o2f R50 config, as ``tools/train.py`` (optionally --amp)."""
    import torch
    from mmengine.optim import build_optim_wrapper

    if amp and device.type != 'cuda':
        return dict(status='skipped', error='AMP (AmpOptimWrapper) needs a CUDA GPU')
    cfg = _load_detector_cfg(O2F_CONFIG)
    model = _build_model(cfg, device).train()
    wrapper_cfg = cfg.optim_wrapper.copy()
    if amp:  # what tools/train.py --amp does
        wrapper_cfg.type = 'AmpOptimWrapper'
        wrapper_cfg.setdefault('loss_scale', 'dynamic')
    optim_wrapper = build_optim_wrapper(model, wrapper_cfg)
    generator = torch.Generator().manual_seed(args.seed)
    batches = [_random_batch(generator, args.batch_size, args.image_hw, with_gt=True)
               for _ in range(min(args.iters, 4))]  # cycled: host-side data cost stays out
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    losses, times = [], []
    for step in range(args.iters):
        _sync(device)
        start = time.perf_counter()
        log_vars = model.train_step(batches[step % len(batches)], optim_wrapper)
        _sync(device)
        times.append(time.perf_counter() - start)
        losses.append(float(log_vars['loss'].detach()))
    timed = times[1:] or times  # the first step pays for cuDNN autotuning and allocations
    return dict(iters=args.iters, batch_size=args.batch_size, image_hw=list(args.image_hw),
                loss_first=_finite_or_none(losses[0]), loss_last=_finite_or_none(losses[-1]),
                all_finite=all(math.isfinite(v) for v in losses),
                first_iter_s=round(times[0], 4), s_per_iter=round(statistics.median(timed), 4),
                peak_mem_mib=round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
                if device.type == 'cuda' else None)


def _finite_or_none(value: float) -> float | None:
    return round(value, 5) if math.isfinite(value) else None


def check_inference(device, args) -> dict:
    """Images/s of o2f without NMS vs FCOS with NMS, batch 1, untrained but with candidates."""
    import torch

    generator = torch.Generator().manual_seed(args.seed + 1)
    warmup = 1 if args.dry_run else WARMUP_IMAGES
    batches = [_random_batch(generator, 1, args.image_hw, with_gt=False)
               for _ in range(min(max(args.fps_images, warmup), 10))]
    result = dict(images=args.fps_images, image_hw=list(args.image_hw))
    for name, config in (('o2f', O2F_CONFIG), ('fcos', FCOS_CONFIG)):
        model = _build_model(_load_detector_cfg(config), device).eval()
        # Untrained heads score every point ~0.01 (below score_thr): a zero class bias gives
        # ~0.5, so every level passes nms_pre candidates and NMS has real work, as when trained.
        torch.nn.init.zeros_(model.bbox_head.conv_cls.bias)
        if hasattr(model.bbox_head, 'set_with_nms'):
            model.bbox_head.set_with_nms(name == 'fcos')
        dets = []
        with torch.no_grad():
            for batch in batches[:warmup]:
                model.test_step(batch)
            _sync(device)
            start = time.perf_counter()
            for index in range(args.fps_images):
                out = model.test_step(batches[index % len(batches)])
                dets.append(len(out[0].pred_instances))
            _sync(device)
        seconds = time.perf_counter() - start
        result[f'{name}_fps'] = round(args.fps_images / seconds, 2)
        result[f'{name}_ms'] = round(1e3 * seconds / args.fps_images, 2)
        result[f'{name}_dets_per_img'] = round(statistics.mean(dets), 1)
        del model
        _release_memory()
    return result


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def check_ddp(device, args) -> dict:
    """A 1-process process group (nccl on GPU, gloo in the dry run): all-reduce + DDP steps."""
    import torch
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel
    from mmengine.optim import build_optim_wrapper

    backend = 'nccl' if device.type == 'cuda' else 'gloo'
    if dist.is_initialized():
        raise RuntimeError('a process group is already initialised in this process')
    saved = {key: os.environ.get(key) for key in ('MASTER_ADDR', 'MASTER_PORT')}
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(_free_port()))
    init = dict(backend=backend, rank=0, world_size=1,
                timeout=datetime.timedelta(seconds=120))
    if device.type == 'cuda':
        init['device_id'] = device
    try:
        dist.init_process_group(**init)
    finally:  # the rendezvous has read them: leave the caller's environment as it was
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        value = torch.full((4,), 3.0, device=device)
        dist.all_reduce(value)  # world size 1: the sum is the value itself
        cfg = _load_detector_cfg(O2F_CONFIG)
        model = _build_model(cfg, device).train()
        ddp = MMDistributedDataParallel(
            module=model, device_ids=[device.index or 0] if device.type == 'cuda' else None)
        optim_wrapper = build_optim_wrapper(ddp, cfg.optim_wrapper.copy())
        generator = torch.Generator().manual_seed(args.seed + 2)
        losses = []
        for _ in range(args.ddp_steps):
            batch = _random_batch(generator, args.batch_size, args.image_hw, with_gt=True)
            losses.append(float(ddp.train_step(batch, optim_wrapper)['loss'].detach()))
        _sync(device)
    finally:
        dist.destroy_process_group()
    return dict(backend=backend, world_size=1,
                all_reduce_ok=bool(torch.equal(value.cpu(), torch.full((4,), 3.0))),
                steps=args.ddp_steps, all_finite=all(math.isfinite(v) for v in losses))


def _failed_measurements(entry: dict) -> str | None:
    """A check that ran but measured a wrong result (unequal NMS, non-finite loss, ...)."""
    name = entry['name']
    if name == 'mmcv_ops':
        bad = [k for k in ('nms_equal_cpu', 'batched_nms_equal_cpu') if not entry[k]]
        diff = entry['focal_loss_max_abs_diff']
        if diff is not None and not diff <= 1e-4:
            bad.append(f'focal_loss_max_abs_diff {diff:.3g} > 1e-4')
        return f'CUDA result differs from the reference: {", ".join(bad)}' if bad else None
    if name in ('train_fp32', 'train_amp', 'ddp') and not entry['all_finite']:
        return 'a training loss was not finite'
    if name == 'ddp' and not entry['all_reduce_ok']:
        return 'all_reduce returned a wrong value'
    return None


# ----------------------------------------------------------------------------- main
def refuse_without_gpu(dry_run: bool) -> None:
    """One line (CliError, exit 2) when no CUDA GPU is visible and this is not a dry run."""
    import torch

    if dry_run or torch.cuda.is_available():
        return
    cuda = torch.version.cuda or 'none (CPU build)'
    raise CliError(f'tools/gpu_check.py: no CUDA GPU visible (torch {torch.__version__}, CUDA '
                   f'{cuda}): run it on a GPU machine, or add --dry-run for the tiny CPU run')


@exit_on_cli_error
def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks and write the report; returns the exit code (0 ok, 1 failed, 2 usage)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from o2f_core.io import UnsafeOutputError, atomic_write, check_output_path

    json_path = osp.join(args.out_dir, 'gpu_check.json')
    md_path = osp.join(args.out_dir, 'gpu_check.md')
    try:
        for path in (json_path, md_path):
            check_output_path(path, what='--out-dir')
    except UnsafeOutputError as err:
        raise CliError(f'tools/gpu_check.py: {err}') from err
    refuse_without_gpu(args.dry_run)

    import torch
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import o2f_det  # noqa: F401  (registers the heads)

    init_default_scope('mmdet')
    # The optimizer constructor logs one line per parameter (lr/decay options, frozen stages):
    # hundreds of lines around a one-table report. Errors only.
    MMLogger.get_instance('o2f_gpu_check', log_level='ERROR')
    device = torch.device('cpu' if args.dry_run else 'cuda', None if args.dry_run else 0)
    torch.manual_seed(args.seed)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True  # as in training: conv algorithms autotuned
    start = time.monotonic()
    deadline = start + args.budget_s
    runners = dict(
        versions=lambda: check_versions(device),
        mmcv_ops=lambda: check_mmcv_ops(device, args.seed),
        train_fp32=lambda: check_train(device, args, amp=False),
        train_amp=lambda: check_train(device, args, amp=True),
        inference=lambda: check_inference(device, args),
        ddp=lambda: check_ddp(device, args))
    results = []
    for name in args.only:
        entry = run_check(name, runners[name], deadline)
        if entry['status'] == 'ok':
            wrong = _failed_measurements(entry)
            if wrong:
                entry.update(status='failed', error=wrong)
        results.append(entry)
        print(f"[gpu_check] {name}: {entry['status']} ({entry['seconds']:.1f} s)"
              f"{': ' + entry['error'] if entry['error'] else ''}", flush=True)
    settings = dict(device=str(device), dry_run=args.dry_run, image_hw=list(args.image_hw),
                    iters=args.iters, batch_size=args.batch_size, fps_images=args.fps_images,
                    ddp_steps=args.ddp_steps, seed=args.seed, budget_s=args.budget_s,
                    o2f_config=O2F_CONFIG, fcos_config=FCOS_CONFIG)
    report = build_report(results, settings, time.monotonic() - start)
    atomic_write(json_path, json.dumps(report, indent=2, allow_nan=False) + '\n')
    markdown = render_markdown(report)
    atomic_write(md_path, markdown)
    print(markdown, end='')
    print(f'[gpu_check] wrote {json_path} and {md_path}')
    return 0 if report['passed'] else 1
