"""Benchmark: o2f assignment vs mmdet 3.3's FCOS target computation, side by side in one run.

Same input for both: an 800x1333 image's FPN pyramid (strides 8-128, ~22k points), 80 classes,
1 / 10 / 100 random objects. o2f: ``O2FAssigner.assign`` on random joint scores and predicted boxes.
FCOS: ``FCOSHead.get_targets`` (regress ranges + centre sampling 1.5, as in mmdet's configs). The
ratio o2f / FCOS is the figure of merit (goal <= 1.0). Not a test: timings depend on the machine.

    python tools/benchmark_assigner.py [--device cuda] [--repeats 20] [--json out.json]
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time

import torch

from o2f_core.cli import OneLineArgumentParser, exit_on_cli_error


def parse_args(argv):
    parser = OneLineArgumentParser(prog="tools/benchmark_assigner.py",
                                   description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--objects", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.json is not None:  # before the timing: a path we could not write is one line
        from o2f_core.io import UnsafeOutputError, check_output_path

        try:
            check_output_path(args.json, what="--json")
        except UnsafeOutputError as error:
            parser.exit(2, f"{parser.prog}: error: {error}\n")
    return args


def median_seconds(fn, repeats, device):
    for _ in range(3):  # warm-up
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def random_objects(num, height, width, generator, device):
    wh = torch.rand(num, 2, generator=generator) * torch.tensor([width / 2, height / 2]) + 8
    xy = torch.rand(num, 2, generator=generator) * (torch.tensor([width, height]) - wh)
    boxes = torch.cat([xy, xy + wh], dim=1).to(device)
    labels = torch.randint(0, 80, (num,), generator=generator).to(device)
    return boxes, labels


@exit_on_cli_error
def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from mmdet.models.dense_heads import FCOSHead
    from mmengine.structures import InstanceData

    from o2f_core import OFFICIAL_PRESET, O2FAssigner

    device = torch.device(args.device)
    torch.set_grad_enabled(False)
    height, width, strides = 800, 1333, (8, 16, 32, 64, 128)
    fcos = FCOSHead(num_classes=80, in_channels=8, feat_channels=8, stacked_convs=1,
                    strides=strides, center_sampling=True, center_sample_radius=1.5,
                    norm_cfg=None).to(device)
    featmap_sizes = [((height + s - 1) // s, (width + s - 1) // s) for s in strides]
    points_per_level = fcos.prior_generator.grid_priors(featmap_sizes, device=device,
                                                        with_stride=True)
    priors = torch.cat(points_per_level)                      # (N, 4): x, y, stride_x, stride_y
    points, point_strides = priors[:, :2], priors[:, 2]
    fcos_points = [p[:, :2] for p in points_per_level]
    num_points = points.shape[0]

    generator = torch.Generator().manual_seed(0)
    scores = torch.rand(num_points, 80, generator=generator).to(device) * 0.5
    ltrb = torch.rand(num_points, 4, generator=generator).to(device) * 200
    pred_boxes = torch.cat([points - ltrb[:, :2], points + ltrb[:, 2:]], dim=1)
    assigner = O2FAssigner(**OFFICIAL_PRESET)

    rows = []
    for num_objects in args.objects:
        boxes, labels = random_objects(num_objects, height, width, generator, device)
        gt = InstanceData(bboxes=boxes, labels=labels)
        o2f_s = median_seconds(
            lambda boxes=boxes, labels=labels: assigner.assign(
                scores, pred_boxes, points, point_strides, boxes, labels, 0.6),
            args.repeats, device)
        fcos_s = median_seconds(lambda gt=gt: fcos.get_targets(fcos_points, [gt]), args.repeats,
                                device)
        rows.append(dict(objects=num_objects, points=num_points, o2f_ms=o2f_s * 1e3,
                         fcos_ms=fcos_s * 1e3, ratio=o2f_s / fcos_s))

    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
               if device.type == "cpu" else torch.cuda.get_device_name(device))
    print(f"o2f assignment vs FCOS targets, 800x1333 pyramid ({num_points} points), 80 classes, "
          f"device {device} ({machine}), median of {args.repeats}")
    print(f"{'objects':>8} {'o2f ms':>10} {'FCOS ms':>10} {'o2f/FCOS':>9}")
    for row in rows:
        print(f"{row['objects']:>8} {row['o2f_ms']:>10.2f} {row['fcos_ms']:>10.2f} "
              f"{row['ratio']:>8.2f}x")
    if args.json:
        from o2f_core.io import atomic_write

        payload = dict(device=str(device), machine=machine, rows=rows)
        atomic_write(args.json, json.dumps(payload, indent=2), what="--json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
