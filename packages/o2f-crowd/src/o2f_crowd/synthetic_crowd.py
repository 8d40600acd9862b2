"""Deterministic synthetic crowded pedestrians in CrowdHuman format (one class, no download).

A scene is a noisy background with a few *groups* of standing figures (a head disk on a body
bar, tall boxes of aspect w/h 0.35-0.5). Within a group the figures have the same size and stand
side by side, each shifted from the previous one so that the two full boxes have IoU ``t`` drawn
uniformly from ``neighbour_iou`` (default 0.5-0.9): for equal boxes shifted by ``dx``,
IoU = (w - dx) / (w + dx), so ``dx = w (1 - t) / (1 + t)``. This is the regime where NMS at any
IoU threshold either suppresses true neighbours or keeps duplicates. Figures are drawn opaque,
back to front, so later ones occlude earlier ones: ``vbox`` (the box of the visible pixels) differs
from ``fbox`` and ``extra.occ`` is 1 when part of the figure is hidden. Ignore regions: a figure
with less than ``ignore_visible`` of its own pixels visible (default 5 %: nothing left to learn)
keeps ``tag="person"`` with ``extra.ignore=1``; each image may hold one textured ``tag="mask"``
region (a far crowd) that no figure overlaps. As in CrowdHuman, other occluded figures stay
persons with their full box.

Output of :func:`write_crowd_dataset` (relative to ``out_dir``)::

    Images/<split>_<index>.jpg           the scenes (``<ID>.jpg``, as CrowdHuman)
    annotations/crowd_{train,val}.odgt   records with height, width, fbox, vbox, hbox, tag, extra
    meta.json                            parameters and :func:`overlap_statistics`, written last

Determinism: image ``i`` of a split draws from ``numpy.random.default_rng([seed, split, i])``.

Statistics of any odgt gt file (e.g. the distribution of each person's highest IoU with another
person)::

    python -m o2f_crowd.synthetic_crowd work_dirs/demo_crowd/data/annotations/crowd_val.odgt
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from o2f_core.cli import OneLineArgumentParser, exit_on_cli_error

__all__ = ["crowd_scene", "overlap_statistics", "write_crowd_dataset"]

# Bins of the max-neighbour-IoU histogram: [0, 0.3), [0.3, 0.5), ..., [0.9, 1.0].
MAX_IOU_BINS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

OWNER = "o2f_crowd.synthetic_crowd"
LAYOUT = ("Images", "annotations", "meta.json")
_SPLIT_IDS = {"train": 0, "val": 1}


def _iou_xywh(a, b) -> float:
    """IoU of two [x, y, w, h] boxes (no +1)."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(width, 0.0) * max(height, 0.0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def crowd_scene(rng: np.random.Generator, size: tuple[int, int] = (96, 128),
                max_groups: int = 3, group_size: tuple[int, int] = (2, 5),
                neighbour_iou: tuple[float, float] = (0.5, 0.9), ignore_visible: float = 0.05,
                mask_region_prob: float = 0.5):
    """One crowded scene.

    Args:
        rng (np.random.Generator): The source of randomness (the scene depends on it only).
        size (tuple[int, int]): (height, width) in pixels.
        max_groups (int): Groups per image: 1 .. max_groups.
        group_size (tuple[int, int]): Figures per group, inclusive range.
        neighbour_iou (tuple[float, float]): Range of the full-box IoU of side-by-side neighbours.
        ignore_visible (float): A figure with a smaller visible share of its own pixels is
            ``extra.ignore=1``.
        mask_region_prob (float): Probability of one ``tag="mask"`` region.

    Returns:
        tuple: ``image`` (H, W, 3) uint8, ``gtboxes`` (odgt box dicts, drawing order) and
        ``neighbour_ious`` (the full-box IoU of every side-by-side pair).
    """
    height, width = size
    image = rng.normal(110, 18, (height, width, 3)).clip(0, 255)
    owner = np.full((height, width), -1, dtype=np.int64)  # which figure a pixel shows
    yy, xx = np.mgrid[0:height, 0:width]
    figures, neighbour_ious, gtboxes = [], [], []
    mask_box = None
    if rng.random() < mask_region_prob:  # a far crowd: texture, no figure overlaps it
        mw, mh = rng.uniform(0.15, 0.3) * width, rng.uniform(0.1, 0.2) * height
        mask_box = [float(rng.uniform(0, width - mw)), float(rng.uniform(0, 0.3 * height)),
                    float(mw), float(mh)]
        x0, y0 = int(mask_box[0]), int(mask_box[1])
        x1, y1 = int(mask_box[0] + mw), int(mask_box[1] + mh)
        image[y0:y1, x0:x1] = rng.integers(40, 220, (y1 - y0, x1 - x0, 3))
    for _ in range(int(rng.integers(1, max_groups + 1))):
        fig_h = rng.uniform(0.35, 0.7) * height
        fig_w = fig_h * rng.uniform(0.35, 0.5)
        count = int(rng.integers(group_size[0], group_size[1] + 1))
        ious = rng.uniform(*neighbour_iou, count - 1)
        shifts = fig_w * (1 - ious) / (1 + ious)
        span = fig_w + shifts.sum()
        x = rng.uniform(-0.1 * fig_w, width - span + 0.1 * fig_w)
        y = rng.uniform(0.25 * height, height - fig_h)
        if mask_box is not None and y < mask_box[1] + mask_box[3]:
            y = min(mask_box[1] + mask_box[3] + 1, height - fig_h)
        group = []
        for index in range(count):
            box = [float(x), float(y), float(fig_w), float(fig_h)]
            if group:
                neighbour_ious.append(_iou_xywh(group[-1], box))
            group.append(box)
            if index < count - 1:
                x += shifts[index]
        figures += group
    order = rng.permutation(len(figures))  # occlusion order, across and within groups
    colours = rng.integers(20, 236, (len(figures), 3))
    own_pixels = np.zeros(len(figures), dtype=np.int64)  # on the image if nothing occluded it
    for rank, index in enumerate(order):
        x, y, w, h = figures[index]
        head_r = 0.13 * h
        cx, cy = x + w / 2, y + head_r
        head = (xx - cx) ** 2 + (yy - cy) ** 2 <= head_r ** 2
        body = (xx >= x + 0.1 * w) & (xx < x + 0.9 * w) & (yy >= y + 2 * head_r) & (yy < y + h)
        pixels = head | body
        own_pixels[index] = int(pixels.sum())
        image[pixels] = colours[rank]
        owner[pixels] = index
    for index, box in enumerate(figures):
        ys, xs = np.nonzero(owner == index)
        x, y, w, h = box
        if xs.size:
            vbox = [float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()),
                    float(ys.max() + 1 - ys.min())]
        else:
            vbox = [x, y, 0.0, 0.0]
        visible = xs.size / max(own_pixels[index], 1)
        gtboxes.append({"tag": "person", "fbox": box, "vbox": vbox,
                        "hbox": [x + 0.37 * w, y, 0.26 * w, 0.26 * h],
                        "extra": {"box_id": index, "occ": int(visible < 1),
                                  "ignore": int(visible < ignore_visible)}})
    if mask_box is not None:
        gtboxes.append({"tag": "mask", "fbox": mask_box, "vbox": mask_box, "hbox": mask_box,
                        "extra": {"box_id": len(gtboxes), "ignore": 1}})
    return image.astype(np.uint8), gtboxes, neighbour_ious


def overlap_statistics(records: list[dict], neighbour_ious: list[float] | None = None) -> dict:
    """Crowd statistics of odgt gt records.

    Returns:
        dict: ``num_images``, ``num_persons`` (not ignored), ``num_ignored_persons``,
        ``num_mask_regions``, ``persons_per_image``, ``share_with_iou_above_0.5`` (persons whose
        full box has IoU > 0.5 with another person of the image), ``max_iou_quantiles``
        (25/50/75 % of each person's highest IoU with another), ``max_iou_histogram`` (counts of
        that highest IoU in the bins of ``MAX_IOU_BINS``: ``{"[0.5, 0.6)": n, ...}``, the last
        bin closed), ``vbox_over_fbox_area`` (mean),
        ``share_occluded`` (``extra.occ``) and, if given, ``neighbour_iou_min``/``_max``.
    """
    best, vratio, occluded = [], [], 0
    persons = ignored = masks = 0
    for record in records:
        boxes = [b for b in record["gtboxes"] if b["tag"] == "person"]
        masks += sum(b["tag"] == "mask" for b in record["gtboxes"])
        for i, box in enumerate(boxes):
            if box["extra"].get("ignore"):
                ignored += 1
                continue
            persons += 1
            others = [_iou_xywh(box["fbox"], o["fbox"]) for j, o in enumerate(boxes) if j != i]
            best.append(max(others, default=0.0))
            f, v = box["fbox"], box["vbox"]
            vratio.append(v[2] * v[3] / max(f[2] * f[3], 1e-6))
            occluded += bool(box["extra"].get("occ"))
    best = np.array(best)
    stats = {
        "num_images": len(records), "num_persons": persons, "num_ignored_persons": ignored,
        "num_mask_regions": masks, "persons_per_image": persons / max(len(records), 1),
        "share_with_iou_above_0.5": float((best > 0.5).mean()) if best.size else 0.0,
        "max_iou_quantiles": np.quantile(best, [0.25, 0.5, 0.75]).round(3).tolist()
        if best.size else [],
        "max_iou_histogram": {
            f"[{low}, {high}{']' if high == MAX_IOU_BINS[-1] else ')'}": int(count)
            for low, high, count in zip(MAX_IOU_BINS[:-1], MAX_IOU_BINS[1:],
                                        np.histogram(best, MAX_IOU_BINS)[0], strict=True)},
        "vbox_over_fbox_area": float(np.mean(vratio)) if vratio else 0.0,
        "share_occluded": occluded / max(persons, 1),
    }
    if neighbour_ious:
        stats["neighbour_iou_min"] = float(min(neighbour_ious))
        stats["neighbour_iou_max"] = float(max(neighbour_ious))
    return stats


def write_crowd_dataset(out_dir: str | Path, num_train: int = 16, num_val: int = 8,
                        image_size: tuple[int, int] = (96, 128), seed: int = 0,
                        overwrite: bool = False, **scene_kwargs) -> dict:
    """Write ``Images/`` and ``annotations/crowd_{train,val}.odgt`` (see the module docstring).

    The folder is built in a staging sibling and swapped in when complete
    (:func:`o2f_core.io.staged_directory`); an existing ``out_dir`` is replaced only if empty or
    written by this generator.

    Returns:
        dict: ``root``, ``crowd_train``, ``crowd_val`` paths and ``stats`` per split.
    """
    from PIL import Image

    from o2f_core.io import OWNER_KEY, staged_directory

    params = {"num_train": num_train, "num_val": num_val, "image_size": list(image_size),
              "seed": seed, **{k: list(v) if isinstance(v, tuple) else v
                               for k, v in scene_kwargs.items()}}
    stats = {}
    with staged_directory(out_dir, owner=OWNER, marker_file="meta.json", layout=LAYOUT,
                          overwrite=overwrite, what="out_dir") as staged:
        staging = Path(staged.path)
        (staging / "Images").mkdir()
        (staging / "annotations").mkdir()
        for split, count in (("train", num_train), ("val", num_val)):
            records, ious = [], []
            for index in range(1, count + 1):
                rng = np.random.default_rng([seed, _SPLIT_IDS[split], index])
                image, gtboxes, neighbour_ious = crowd_scene(rng, tuple(image_size),
                                                             **scene_kwargs)
                ious += neighbour_ious
                record_id = f"{split}_{index:06d}"
                Image.fromarray(image).save(staging / "Images" / f"{record_id}.jpg",
                                            format="JPEG", quality=95, subsampling=0)
                records.append({"ID": record_id, "height": int(image_size[0]),
                                "width": int(image_size[1]), "gtboxes": gtboxes})
            (staging / "annotations" / f"crowd_{split}.odgt").write_text(
                "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
            stats[split] = overlap_statistics(records, ious)
        (staging / "meta.json").write_text(json.dumps(
            {OWNER_KEY: OWNER, "params": params, "stats": stats}, sort_keys=True, indent=1))
    root = Path(staged.target)
    return {"root": str(root), "crowd_train": str(root / "annotations" / "crowd_train.odgt"),
            "crowd_val": str(root / "annotations" / "crowd_val.odgt"), "stats": stats}


@exit_on_cli_error
def main(argv: list[str] | None = None) -> int:
    """Print :func:`overlap_statistics` of odgt gt files (JSON, one object per file)."""
    import sys

    parser = OneLineArgumentParser(prog="python -m o2f_crowd.synthetic_crowd",
                                   description="Crowd statistics of CrowdHuman gt .odgt files.")
    parser.add_argument("odgt", nargs="+", help="gt .odgt file(s)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    for path in args.odgt:
        try:
            records = [json.loads(line) for line in Path(path).read_text().splitlines()
                       if line.strip()]
            stats = overlap_statistics(records)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            print(f"python -m o2f_crowd.synthetic_crowd: error: {path}: cannot read it as a gt "
                  f".odgt ({type(error).__name__}: {error}); pass a CrowdHuman annotation file",
                  file=sys.stderr)
            return 2
        print(json.dumps({"file": path, **stats}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
