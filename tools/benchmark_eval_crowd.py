#!/usr/bin/env python
"""Benchmark (not a test): o2f_crowd's evaluator against mmdet 3.3's ``CrowdHumanMetric``.

Generates CrowdHuman-val-sized synthetic files (4,370 images, ~23 persons and ~1 ignore region per
image, some boxes leaving the image, scores rounded to 3 decimals so ties are common) with 100 and
500 detections per image, then times, in the same process and on the same files:

* ours: ``load_gt_and_dt(gt, dt, workers)`` + ``evaluate`` (AP, mMR, Recall and JI), as
  ``tools/eval_crowd.py`` runs them (default 2 workers: the detections are parsed in a forked
  child while the gt is parsed, the child's CPU time counted);
* mmdet: ``CrowdHumanMetric.load_eval_samples`` (parses the gt ``.odgt`` and the same
  detections as the JSON list its ``results2json`` writes) + ``compare`` + ``eval_ap`` +
  ``eval_mr`` + ``eval_ji``: the body of ``compute_metrics`` minus dumping the results, which
  would only add to mmdet's time. ``eval_ji`` runs its default 10 worker processes.

It prints wall and CPU seconds for both (CPU: the process and its children, so mmdet's JI
workers count; on a shared machine CPU time is the steadier measure), the ratios, and the
differences between the numbers (mmdet computes
IoU in float32, and JI with a maximum-cardinality matching over IoU >= 0.5 instead of the
maximum-weight matching over IoU > 0.5; it reports no Recall).

    python tools/benchmark_eval_crowd.py [--images 4370] [--dets 100 500] [--mmdet-images N]

``--mmdet-images N`` times mmdet on the first N images only and extrapolates linearly; the output
then says so on every line concerned.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import tempfile
import time

import numpy as np

from o2f_core.cli import OneLineArgumentParser, exit_on_cli_error
from o2f_crowd.evaluation import evaluate, load_gt_and_dt


def _boxes_xywh(rng, count, height, width, scale=1.0):
    """Person-like boxes (tall), some partly outside the image."""
    box_h = rng.uniform(40, 0.8 * height, count) * scale
    box_w = box_h * rng.uniform(0.3, 0.55, count)
    x = rng.uniform(-0.1 * width, width - 0.8 * box_w)
    y = rng.uniform(-0.05 * height, height - 0.9 * box_h)
    return np.column_stack([x, y, box_w, box_h])


def generate(out_dir, num_images, dets_per_image, seed=0):
    """Write ``gt.odgt`` and, per detection count D, ``dt_D.odgt`` and ``dt_D.json`` (mmdet's form).

    Returns:
        dict: paths, keyed ``gt`` and ``(D, 'odgt' | 'json')``.
    """
    rng = np.random.default_rng(seed)
    gt_lines, images = [], []
    for index in range(num_images):
        height, width = int(rng.integers(500, 1200)), int(rng.integers(700, 1600))
        persons = np.round(_boxes_xywh(rng, int(rng.integers(1, 46)), height, width), 1)
        ignores = np.round(_boxes_xywh(rng, int(rng.integers(0, 3)), height, width, 0.5), 1)
        gtboxes = []
        for tag, boxes in (("person", persons), ("mask", ignores)):
            for box in boxes.tolist():
                head = [box[0] + box[2] * 0.35, box[1], box[2] * 0.3, box[3] * 0.12]
                gtboxes.append({"tag": tag, "fbox": box, "vbox": box, "hbox": head,
                                "head_attr": {"ignore": 0}, "extra": {
                                    "box_id": len(gtboxes), "ignore": int(tag == "mask")}})
        image_id = f"{index:06d},synthetic"
        gt_lines.append(json.dumps({"ID": image_id, "height": height, "width": width,
                                    "gtboxes": gtboxes}))
        images.append((image_id, height, width, persons, ignores))
    paths = {"gt": os.path.join(out_dir, "gt.odgt")}
    with open(paths["gt"], "w") as stream:
        stream.write("\n".join(gt_lines) + "\n")

    for num_dets in dets_per_image:
        records = []
        for image_id, height, width, persons, ignores in images:
            # 60% jittered copies of persons (IoUs spread around 0.5 .. 1, duplicates included),
            # 10% around ignore regions, the rest anywhere; scores favour the close copies.
            num_near = int(0.6 * num_dets)
            num_ignore = int(0.1 * num_dets) if len(ignores) else 0
            source = persons[rng.integers(0, len(persons), num_near)]
            noise = rng.normal(0, 0.12, (num_near, 4)) * source[:, [2, 3, 2, 3]]
            near = source + noise
            near[:, 2:] = np.abs(near[:, 2:])
            quality = np.exp(-np.abs(noise).sum(1) / source[:, 2:].sum(1) * 4)
            around = ignores[rng.integers(0, max(len(ignores), 1), num_ignore)] if num_ignore else \
                np.zeros((0, 4))
            around = around + rng.normal(0, 5, around.shape)
            around[:, 2:] = np.abs(around[:, 2:])
            anywhere = _boxes_xywh(rng, num_dets - num_near - num_ignore, height, width)
            boxes = np.round(np.concatenate([near, around, anywhere]), 2)
            scores = np.concatenate([0.3 + 0.7 * quality * rng.uniform(0.5, 1, num_near),
                                     rng.uniform(0, 0.6, num_dets - num_near)])
            scores = np.round(scores, 3)
            records.append({"ID": image_id, "height": height, "width": width, "dtboxes": [
                {"box": box, "score": score, "tag": 1}
                for box, score in zip(boxes.tolist(), scores.tolist(), strict=True)]})
        paths[num_dets, "odgt"] = os.path.join(out_dir, f"dt_{num_dets}.odgt")
        with open(paths[num_dets, "odgt"], "w") as stream:
            for record in records:
                stream.write(json.dumps(record) + "\n")
        paths[num_dets, "json"] = os.path.join(out_dir, f"dt_{num_dets}.json")
        with open(paths[num_dets, "json"], "w") as stream:
            json.dump(records, stream)
        del records
    return paths


class Clock:
    """Wall time and CPU time (this process plus its finished child processes)."""

    @staticmethod
    def _cpu():
        own, children = (resource.getrusage(who) for who in
                         (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, self._cpu() - self.cpu


def time_ours(gt_path, dt_path, workers=2):
    """Time the whole job and its two phases (CPU seconds: parsing both files, evaluation)."""
    with Clock() as clock:
        with Clock() as parse_clock:
            gt, dt = load_gt_and_dt(gt_path, dt_path, workers)
        metrics = evaluate(gt, dt)
    metrics["phases_cpu"] = (parse_clock.cpu, clock.cpu - parse_clock.cpu)
    metrics["parse_wall"] = parse_clock.wall
    return clock, metrics


def _first_lines(src, dst, count):
    with open(src) as stream, open(dst, "w") as out:
        for _ in range(count):
            out.write(stream.readline())


def time_mmdet(gt_path, dt_json_path, num_images=None):
    """Time mmdet's CrowdHumanMetric on the same job; ``num_images`` restricts to a prefix."""
    from mmdet.evaluation.metrics import CrowdHumanMetric

    if num_images is not None:  # a prefix of both files, written before the clock starts
        folder = os.path.dirname(gt_path)
        subset_gt = os.path.join(folder, f"gt_first{num_images}.odgt")
        _first_lines(gt_path, subset_gt, num_images)
        with open(dt_json_path) as stream:
            records = json.load(stream)[:num_images]
        dt_json_path = os.path.join(folder, f"dt_first{num_images}.json")
        with open(dt_json_path, "w") as stream:
            json.dump(records, stream)
        del records
        gt_path = subset_gt
    metric = CrowdHumanMetric(ann_file=gt_path, metric=["AP", "MR", "JI"])
    with Clock() as clock:
        samples = metric.load_eval_samples(dt_json_path)
        score_list = metric.compare(samples)
        gt_num = sum(samples[i].gt_num for i in samples) - sum(samples[i].ign_num for i in samples)
        img_num = len(samples)
        ap = metric.eval_ap(score_list, gt_num, img_num)
        mr = metric.eval_mr(score_list, gt_num, img_num)
        ji = metric.eval_ji(samples)  # its worker processes count in the CPU time
    return clock, {"AP": float(ap), "mMR": float(mr), "JI": float(ji)}


@exit_on_cli_error
def main(argv=None):
    parser = OneLineArgumentParser(prog="tools/benchmark_eval_crowd.py",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4370)
    parser.add_argument("--dets", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--mmdet-images", type=int, default=None,
                        help="time mmdet on this many images and extrapolate (stated in output)")
    parser.add_argument("--skip-mmdet", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, choices=(1, 2), default=2,
                        help="our file parsing processes, as tools/eval_crowd.py --workers")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="o2f_crowd_bench_") as folder:
        start = time.perf_counter()
        paths = generate(folder, args.images, args.dets, args.seed)
        print(f"generated {args.images} images x {args.dets} detections in "
              f"{time.perf_counter() - start:.1f} s ({folder})", flush=True)
        for num_dets in args.dets:
            size_mb = os.path.getsize(paths[num_dets, "odgt"]) / 2**20
            print(f"\n== {args.images} images x {num_dets} detections (dt file {size_mb:.0f} MiB)")
            gc.collect()
            ours_clock, ours = time_ours(paths["gt"], paths[num_dets, "odgt"], args.workers)
            print(f"ours : {ours_clock.wall:8.2f} s wall, {ours_clock.cpu:8.2f} s CPU  "
                  f"AP {ours['AP']:.6f}  mMR {ours['mMR']:.6f}  Recall {ours['Recall']:.6f}  "
                  f"JI {ours['JI']:.6f}  ({ours['num_tp']} TP, {ours['num_fp']} FP, "
                  f"{ours['num_dropped']} dropped)", flush=True)
            print("       CPU s: parse gt + dt {:.2f} ({:.2f} s wall, {} workers), evaluate {:.2f}"
                  .format(ours["phases_cpu"][0], ours["parse_wall"], args.workers,
                          ours["phases_cpu"][1]), flush=True)
            if args.skip_mmdet:
                continue
            gc.collect()
            subset = args.mmdet_images if args.mmdet_images and args.mmdet_images < args.images \
                else None
            mm_clock, mm = time_mmdet(paths["gt"], paths[num_dets, "json"], subset)
            label, scale = "mmdet", 1.0
            if subset:
                scale = args.images / subset
                label = f"mmdet (EXTRAPOLATED from {subset} images, x{scale:.2f})"
            print(f"{label}: {mm_clock.wall * scale:8.2f} s wall, {mm_clock.cpu * scale:8.2f} s CPU"
                  f"  AP {mm['AP']:.6f}  mMR {mm['mMR']:.6f}  JI {mm['JI']:.6f}  (no Recall)")
            print(f"speed-up: {mm_clock.wall * scale / ours_clock.wall:.1f}x wall time, "
                  f"{mm_clock.cpu * scale / ours_clock.cpu:.1f}x CPU time"
                  + (" (extrapolated)" if subset else ""))
            if subset:
                print("number differences: not comparable (mmdet ran on a subset)")
                continue
            print("differences (ours - mmdet): " + ", ".join(
                f"{k} {ours[k] - mm[k]:+.3e}" for k in ("AP", "mMR", "JI")))
    print("\nWhy the numbers can differ: mmdet's bbox_overlaps computes IoU/IoA in float32 with "
          "max(union, 1e-6), so matches at the 0.5 boundary can flip; its JI uses "
          "scipy maximum_bipartite_matching (maximum cardinality) over pairs with IoU >= 0.5, "
          "ours the maximum-weight matching over IoU > 0.5 as the reference (CrowdDet) does; its "
          "JI sums the per-image ratios in worker-queue order.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
