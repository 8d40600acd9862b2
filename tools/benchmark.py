#!/usr/bin/env python
"""Side-by-side speed of o2f vs FCOS, measured in one run on one device (ratios = o2f / FCOS).

1. ``loss``: head targets + loss, forward and backward to the head outputs, per training step
   (2 images), COCO-sized pyramid (800x1333, strides 8-128: 22,300 points, 80 classes), with 1,
   10 and 100 objects per image. Goal: o2f <= 1.05x FCOS.
2. ``postprocess``: ``predict_by_feat`` of one image, NMS-free (o2f) vs FCOS with class-aware NMS,
   keeping 100 and 1000 candidates per level. Goal: <= 0.5x.
3. ``e2e``: end-to-end inference images/s of the demo detectors (same backbone and neck), o2f
   without NMS vs FCOS with NMS, on synthetic scenes. Uses the trained demo checkpoints when
   ``--demo-dir`` has them (realistic candidate counts), else untrained models whose
   classification bias is set so that candidates pass the score threshold. Goal: >= 1.0x.

Usage::

    python tools/benchmark.py [--device cpu|cuda] [--repeats 20] [--json out.json]
                              [--only loss,postprocess,e2e] [--demo-dir work_dirs/demo]

Device: CUDA when available, else CPU (``--device`` overrides). Times are medians over
``--repeats`` runs after warm-up. Bad arguments: one error line, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os.path as osp
import statistics
import sys
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
COCO_SHAPE = (800, 1333)
STRIDES = (8, 16, 32, 64, 128)
NUM_CLASSES = 80
GOALS = {'loss': ('<=', 1.05), 'postprocess': ('<=', 0.5), 'e2e': ('>=', 1.0)}


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f'{self.prog}: error: {message} (see {self.prog} --help)\n')


def parse_args(argv):
    parser = _OneLineParser(prog='tools/benchmark.py', description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', choices=['cpu', 'cuda'], default=None,
                        help='default: cuda when available, else cpu')
    parser.add_argument('--repeats', type=int, default=20, help='timed runs per measurement')
    parser.add_argument('--json', help='also write the results to this JSON file')
    parser.add_argument('--only', default='loss,postprocess,e2e',
                        help='comma-separated subset of loss,postprocess,e2e')
    parser.add_argument('--objects', default='1,10,100', help='objects per image (loss)')
    parser.add_argument('--candidates', default='100,1000', help='per-level candidates')
    parser.add_argument('--demo-dir', default='work_dirs/demo',
                        help='trained demo checkpoints for e2e (optional)')
    parser.add_argument('--e2e-images', type=int, default=16, help='images for e2e')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    args.only = [part.strip() for part in args.only.split(',') if part.strip()]
    unknown = set(args.only) - set(GOALS)
    if unknown or not args.only:
        parser.error(f'--only takes a subset of loss,postprocess,e2e, got {sorted(unknown)}')
    try:
        args.objects = [int(v) for v in args.objects.split(',')]
        args.candidates = [int(v) for v in args.candidates.split(',')]
    except ValueError:
        parser.error('--objects and --candidates take comma-separated integers')
    if args.repeats < 1 or args.e2e_images < 1 or min(args.objects + args.candidates) < 1:
        parser.error('--repeats, --e2e-images, --objects and --candidates must be >= 1')
    if args.device == 'cuda':
        import torch

        if not torch.cuda.is_available():
            parser.error('--device cuda: no CUDA device is available; use --device cpu')
    if args.json is not None:  # before minutes of timing: a path we could not write
        from o2f_core.io import UnsafeOutputError, check_output_path

        try:
            check_output_path(args.json, what='--json')
        except UnsafeOutputError as error:
            parser.error(str(error))
    return args


def _timer(device):
    import torch

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    def measure(fn, repeats: int, warmup: int = 2) -> float:
        """Median seconds of ``fn()`` over ``repeats`` runs."""
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    return measure


def _heads(device):
    """An O2FHead and an FCOS head (NMS switch) with identical output layout (80 classes)."""
    from mmdet.registry import MODELS
    from mmengine.config import ConfigDict

    common = dict(num_classes=NUM_CLASSES, in_channels=8, feat_channels=8, stacked_convs=1,
                  strides=list(STRIDES), norm_cfg=None, norm_on_bbox=True,
                  centerness_on_reg=True, conv_bias=True)
    nms = dict(type='nms', iou_threshold=0.6)
    o2f = MODELS.build(dict(type='O2FHead', **common, train_cfg=dict(
        assigner=dict(num_ambiguous=6, alpha=0.8, center_radius=1.5, ambiguous_weight=0.4)),
        test_cfg=ConfigDict(nms_pre=1000, score_thr=0.05, max_per_img=100, with_nms=False,
                            nms=nms)))
    fcos = MODELS.build(dict(
        type='NMSSwitchFCOSHead', **common, center_sampling=True, center_sample_radius=1.5,
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        test_cfg=ConfigDict(nms_pre=1000, score_thr=0.05, max_per_img=100, with_nms=True,
                            nms=nms)))
    o2f.set_temperature(0.6)  # T of the first epoch, as O2FTemperatureHook would set it
    return o2f.to(device), fcos.to(device)


def _fake_outputs(generator, device, num_imgs: int, cls_mean: float):
    """Head outputs for the COCO pyramid: logits ~ N(cls_mean, 1), distances 0.5-8 strides."""
    import torch

    height, width = COCO_SHAPE
    sizes = [(-(-height // s), -(-width // s)) for s in STRIDES]

    def rand(*shape, low=0.0, high=1.0):
        return (torch.rand(*shape, generator=generator) * (high - low) + low).to(device)

    cls_scores = [(torch.randn(num_imgs, NUM_CLASSES, h, w, generator=generator) + cls_mean)
                  .to(device) for h, w in sizes]
    bbox_preds = [rand(num_imgs, 4, h, w, low=0.5, high=8.0) for h, w in sizes]
    centernesses = [torch.randn(num_imgs, 1, h, w, generator=generator).to(device)
                    for h, w in sizes]
    return cls_scores, bbox_preds, centernesses, sum(h * w for h, w in sizes)


def _fake_gts(generator, device, num_objects: int):
    import torch
    from mmengine.structures import InstanceData

    height, width = COCO_SHAPE
    sides = torch.exp(torch.empty(num_objects, 2).uniform_(3.0, 6.4, generator=generator))
    centres = torch.rand(num_objects, 2, generator=generator) * torch.tensor([width, height])
    x1y1 = (centres - sides / 2).clamp(min=0)
    x2y2 = torch.minimum(centres + sides / 2, torch.tensor([width, height]).float())
    boxes = torch.cat([x1y1, torch.maximum(x2y2, x1y1 + 2)], 1)
    labels = torch.randint(0, NUM_CLASSES, (num_objects,), generator=generator)
    return InstanceData(bboxes=boxes.to(device), labels=labels.to(device))


def _loss_step(head, outputs, gts, metas):
    """One training step's targets + loss + backward to the head outputs."""
    leaves = [tensor for level_outputs in outputs for tensor in level_outputs]

    def run():
        for leaf in leaves:
            leaf.grad = None
        losses = head.loss_by_feat(*outputs, gts, metas)
        sum(losses.values()).backward()

    return run


def bench_loss(args, device, measure) -> list[dict]:
    import torch

    o2f, fcos = _heads(device)
    generator = torch.Generator().manual_seed(args.seed)
    num_imgs = 2
    metas = [dict(img_shape=COCO_SHAPE, pad_shape=COCO_SHAPE)] * num_imgs
    rows = []
    for num_objects in args.objects:
        cls_scores, bbox_preds, centernesses, num_points = _fake_outputs(
            generator, device, num_imgs, cls_mean=-4.0)
        gts = [_fake_gts(generator, device, num_objects) for _ in range(num_imgs)]
        for tensor in cls_scores + bbox_preds + centernesses:
            tensor.requires_grad_()
        outputs = (cls_scores, bbox_preds, centernesses)
        o2f_s = measure(_loss_step(o2f, outputs, gts, metas), args.repeats)
        fcos_s = measure(_loss_step(fcos, outputs, gts, metas), args.repeats)
        rows.append(dict(benchmark='loss', case=f'{num_objects} objects/img, {num_imgs} imgs, '
                         f'{num_points} points', o2f_ms=1e3 * o2f_s, fcos_ms=1e3 * fcos_s))
    return rows


def bench_postprocess(args, device, measure) -> list[dict]:
    import torch

    o2f, fcos = _heads(device)
    generator = torch.Generator().manual_seed(args.seed + 1)
    metas = [dict(img_shape=COCO_SHAPE, pad_shape=COCO_SHAPE, scale_factor=(1.0, 1.0))]
    o2f.eval()
    fcos.eval()
    rows = []
    for candidates in args.candidates:
        # A trained detector: nearly every (point, class) entry far below score_thr, and per
        # level about twice the candidate quota above it, so each level keeps `candidates`
        # entries and the measurement is the post-process itself (decode, rank, NMS or not).
        cls_scores, bbox_preds, centernesses, _ = _fake_outputs(generator, device, 1,
                                                                cls_mean=-9.0)
        for level in cls_scores:
            flat = level.view(-1)
            hot = torch.randperm(flat.numel(), generator=generator)[:2 * candidates]
            flat[hot.to(device)] = (torch.randn(len(hot), generator=generator) + 2.0).to(device)
        # Test-time distances are in pixels: scale the stride units by each level's stride.
        bbox_preds = [pred * stride for pred, stride in zip(bbox_preds, STRIDES, strict=True)]
        for head in (o2f, fcos):
            head.test_cfg['nms_pre'] = candidates

        def run(head, outputs=(cls_scores, bbox_preds, centernesses)):
            return lambda: head.predict_by_feat(*outputs, batch_img_metas=metas, rescale=False)

        with torch.no_grad():
            kept = [len(run(h)()[0]) for h in (o2f, fcos)]
            o2f_s, fcos_s = measure(run(o2f), args.repeats), measure(run(fcos), args.repeats)
        rows.append(dict(benchmark='postprocess',
                         case=f'{candidates} candidates/level x {len(STRIDES)} levels '
                         f'(kept: o2f {kept[0]}, FCOS {kept[1]})',
                         o2f_ms=1e3 * o2f_s, fcos_ms=1e3 * fcos_s))
    return rows


def _demo_checkpoint(demo_dir: str, name: str) -> str | None:
    pointer = osp.join(demo_dir, name, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as file:
            path = file.read().strip()
        if osp.isfile(path):
            return path
    return None


def bench_e2e(args, device, measure) -> list[dict]:
    import numpy as np
    import torch
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.runner import load_checkpoint

    from o2f_det.cli_common import load_task_config
    from o2f_det.synthetic import generate_scene

    models, notes = {}, []
    for name in ('o2f', 'fcos'):
        cfg = load_task_config(osp.join(REPO_ROOT, 'configs', 'det', f'{name}_demo_cpu.py'),
                               'det')
        model = MODELS.build(cfg.model)
        checkpoint = _demo_checkpoint(args.demo_dir, name)
        if checkpoint is not None:
            load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
            notes.append(f'{name}: {checkpoint}')
        else:
            model.init_weights()
            torch.nn.init.zeros_(model.bbox_head.conv_cls.bias)  # scores ~0.5: real candidates
            notes.append(f'{name}: untrained')
        if hasattr(model.bbox_head, 'set_with_nms'):
            model.bbox_head.set_with_nms(name == 'fcos')
        models[name] = model.to(device).eval()
        image_hw = cfg.image_size
    rng = np.random.default_rng(args.seed)
    scenes = [generate_scene(rng, tuple(image_hw)).image for _ in range(args.e2e_images)]
    batches = []
    for image in scenes:  # one image per call: the latency a user sees
        sample = DetDataSample(metainfo=dict(img_shape=tuple(image_hw), ori_shape=tuple(image_hw),
                                             scale_factor=(1.0, 1.0)))
        inputs = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)
        batches.append(dict(inputs=[inputs], data_samples=[sample]))

    def run(model):
        def all_images():
            with torch.no_grad():
                for batch in batches:
                    model.test_step(batch)
        return all_images

    repeats = max(1, args.repeats // 4)
    o2f_s, fcos_s = measure(run(models['o2f']), repeats, 1), measure(run(models['fcos']),
                                                                     repeats, 1)
    count = len(batches)
    return [dict(benchmark='e2e', case=f'demo detectors, {image_hw[0]}x{image_hw[1]}, '
                 f'batch 1 ({"; ".join(notes)})',
                 o2f_ms=1e3 * o2f_s / count, fcos_ms=1e3 * fcos_s / count,
                 o2f_images_per_s=count / o2f_s, fcos_images_per_s=count / fcos_s)]


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import torch
    from mmengine.registry import init_default_scope

    import o2f_det  # noqa: F401  (registers the heads)

    init_default_scope('mmdet')  # detectors build their parts (data preprocessor) in this scope
    device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    torch.manual_seed(args.seed)
    measure = _timer(device)
    runners = dict(loss=bench_loss, postprocess=bench_postprocess, e2e=bench_e2e)
    rows = []
    for name in args.only:
        rows += runners[name](args, device, measure)
    for row in rows:
        op, goal = GOALS[row['benchmark']]
        if row['benchmark'] == 'e2e':  # a speed ratio: higher is better
            row['ratio'] = row['o2f_images_per_s'] / row['fcos_images_per_s']
        else:
            row['ratio'] = row['o2f_ms'] / row['fcos_ms']
        row['goal'] = f'{op} {goal}'
        row['meets_goal'] = bool(row['ratio'] <= goal if op == '<=' else row['ratio'] >= goal)
    where = (torch.cuda.get_device_name(device) if device.type == 'cuda'
             else f'{torch.get_num_threads()} threads')
    header = f'device: {device} ({where}), torch {torch.__version__}, median of {args.repeats} runs'
    print(header)
    print('| benchmark | case | o2f | FCOS | ratio o2f/FCOS | goal |')
    print('|---|---|---|---|---|---|')
    for row in rows:
        if row['benchmark'] == 'e2e':
            cells = f"{row['o2f_images_per_s']:.1f} img/s | {row['fcos_images_per_s']:.1f} img/s"
            ratio = f"{row['ratio']:.2f}x (speed)"
        else:
            cells = f"{row['o2f_ms']:.2f} ms | {row['fcos_ms']:.2f} ms"
            ratio = f"{row['ratio']:.2f}x (time)"
        verdict = 'met' if row['meets_goal'] else 'NOT met'
        print(f"| {row['benchmark']} | {row['case']} | {cells} | {ratio} | "
              f"{row['goal']}: {verdict} |")
    if args.json:
        payload = dict(device=str(device), torch=torch.__version__, repeats=args.repeats,
                       threads=torch.get_num_threads(), rows=rows)
        from o2f_core.io import atomic_write

        atomic_write(args.json, json.dumps(payload, indent=2, sort_keys=True), what='--json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
