"""Deterministic synthetic shape scenes in COCO and CrowdHuman formats (no GPU, no download).

A scene is a noisy background with a few translucent shapes of ``num_classes`` kinds. Sizes run
from tiny (a few pixels) to large (about 60 % of the shorter image side), and most scenes contain
one or two *crowded groups*: chains of same-class shapes whose neighbouring boxes overlap with
IoU in ``[0.3, 0.75]``, the case where NMS suppresses true objects and a one-to-many detector
without NMS emits duplicates.

Shape classes, in category-id order (``num_classes`` takes the first ones):

====  ===========  ==================================================================
id    name         geometry
====  ===========  ==================================================================
1     ``disk``     ellipse, a 32-gon
2     ``triangle`` isosceles triangle, apex up or down
3     ``l_shape``  an L (6-gon) with arm thickness 0.3-0.4 of the box: its **box
                   centre lies off the mask**, which a mask-aware assigner must handle
4     ``square``   axis-aligned rectangle
====  ===========  ==================================================================

Every class has a base colour with a per-instance jitter, so a small network trained from
scratch for a few minutes can tell the classes apart; the shape still matters where colours blend.

Shapes are drawn largest first (so small shapes are not buried) with opacity ``ALPHA``: the
whole outline of an earlier shape stays visible under a later one, so the instance mask is the
full polygon (no occlusion cut-outs) and matches the image.

Output layout of :func:`write_synthetic_dataset` (all paths relative to ``out_dir``)::

    train/000001.png ...                 COCO images (lossless PNG)
    val/000001.png ...
    annotations/instances_train.json     COCO instances; segmentation = one polygon per object
    annotations/instances_val.json
    Images/train_000001.jpg ...          the same scenes as CrowdHuman images: ``<ID>.jpg``,
    Images/val_000001.jpg ...            which is what mmdet's CrowdHumanDataset expects
    annotations/crowd_train.odgt         CrowdHuman annotations, one class (all shapes "person")
    annotations/crowd_val.odgt
    meta.json                            the generation parameters (to detect stale data) and
                                         the generator's signature ``"o2f_owner"``, written last

CrowdHuman conventions used here:

* ``fbox`` = the COCO box ``[x, y, w, h]``; ``vbox`` = the box of the part not covered by shapes
  drawn later (equal to ``fbox`` for an unoccluded shape); ``hbox`` = the top quarter of ``fbox``.
* Ignore regions: a shape whose longer side is below ``ignore_size`` pixels gets ``tag="mask"``
  (too small to label reliably, like CrowdHuman's crowd/reflection masks); a shape more than 80 %
  covered by later shapes keeps ``tag="person"`` with ``extra.ignore=1`` (heavily occluded).
  The COCO json keeps all of them as ordinary objects (``iscrowd=0``).

Determinism: image ``i`` of a split draws from ``numpy.random.default_rng([seed, split, i])``,
so a scene does not depend on how many other images are generated; PNG/JPEG are written without
metadata and JSON with sorted keys, giving byte-identical output for the same arguments (with the
same numpy/Pillow versions).

Safety (``o2f_core.io.staged_directory``): files are written into a staging sibling directory
``.NAME.o2f-staging-PID-*`` that is moved into place only when complete, so an interrupted run
leaves no partial dataset (Ctrl-C/SIGTERM remove the staging folder; one left by a SIGKILL is
removed by the next run). An existing ``out_dir`` is replaced only when it is empty or was written
by this generator (its ``meta.json`` carries ``"o2f_owner": "o2f_det.synthetic"``, or is the
unsigned ``{"params", "stats"}`` of format version 1, and it holds nothing else than the layout
above); ``/``, the home directory, the current directory, the o2f
repository and their ancestors are refused outright. A request that cannot fit on the disk
(:func:`estimate_dataset_bytes`) or asks for more than ``MAX_IMAGES`` images is refused before
anything is written.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from o2f_core.io import OWNER_KEY, owns_directory, staged_directory

__all__ = [
    "SHAPE_CLASSES",
    "ShapeInstance",
    "Scene",
    "generate_scene",
    "write_synthetic_dataset",
    "estimate_dataset_bytes",
    "read_meta",
    "is_synthetic_dataset",
    "box_iou_xyxy",
    "polygon_area",
]

SHAPE_CLASSES = ("disk", "triangle", "l_shape", "square")
# Base RGB colour per class; each instance is jittered by up to +-JITTER per channel.
CLASS_COLOURS = np.array([[230, 80, 70], [80, 200, 90], [80, 120, 235], [230, 200, 60]], float)
COLOUR_JITTER = 35.0
ALPHA = 0.75  # shape opacity: earlier shapes stay visible under later ones
GROUP_IOU_RANGE = (0.3, 0.75)  # IoU of neighbouring members of a crowded group
OCCLUDED_IGNORE = 0.8  # CrowdHuman extra.ignore=1 above this covered fraction
MAX_IOU_ISOLATED = 0.5  # an isolated shape may overlap others, but not hide behind them
FORMAT_VERSION = 1
_SPLIT_IDS = {"train": 0, "val": 1}
# The signature in meta.json that marks a directory as ours. It names the module's first home and
# stays as is: datasets written before the move keep being recognised (reused, replaced).
OWNER = "o2f_det.synthetic"
TOOL = "tools/make_synthetic.py"
LAYOUT = ("train", "val", "annotations", "Images", "meta.json")  # top-level entries we write


def _legacy_meta(meta: dict) -> bool:
    """The meta.json of a dataset written before the signature existed (format version 1)."""
    params = meta.get("params")
    return set(meta) == {"params", "stats"} and isinstance(params, dict) and (
        params.get("format_version") == 1)


# About 35 h of generation at 160x160 on one core; more is a typo, not a dataset.
MAX_IMAGES = 1_000_000


@dataclass
class ShapeInstance:
    """One object of a scene.

    Attributes:
        category_id (int): 1-based COCO category id (index into ``SHAPE_CLASSES`` + 1).
        polygon (np.ndarray): shape (num_vertices, 2), float64, ``(x, y)`` image pixels, the
            exact object outline (pixel ``(i, j)`` covers ``[j, j+1] x [i, i+1]``).
        colour (np.ndarray): shape (3,), RGB in [0, 255].
        group (int): 0 for an isolated shape, g >= 1 for a member of crowded group g.
    """

    category_id: int
    polygon: np.ndarray
    colour: np.ndarray
    group: int = 0

    @property
    def box_xyxy(self) -> np.ndarray:
        """Tight box ``[x1, y1, x2, y2]`` of the polygon, shape (4,)."""
        return np.concatenate([self.polygon.min(0), self.polygon.max(0)])


@dataclass
class Scene:
    """A generated image and its objects, in drawing order.

    Attributes:
        image (np.ndarray): shape (H, W, 3), uint8 RGB.
        instances (list[ShapeInstance]): the objects, earlier ones drawn first.
        visible_masks (np.ndarray): shape (num_instances, H, W), bool, each object's rasterised
            polygon minus the objects drawn after it (used for ``vbox`` and occlusion).
        full_masks (np.ndarray): shape (num_instances, H, W), bool, rasterised polygons.
    """

    image: np.ndarray
    instances: list[ShapeInstance] = field(default_factory=list)
    visible_masks: np.ndarray | None = None
    full_masks: np.ndarray | None = None


def polygon_area(polygon: np.ndarray) -> float:
    """Area of a simple polygon by the shoelace formula.

    Args:
        polygon (np.ndarray): shape (num_vertices, 2), ``(x, y)`` vertices in order.

    Returns:
        float: the enclosed area (non-negative).
    """
    x, y = polygon[:, 0], polygon[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def box_iou_xyxy(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``xyxy`` boxes.

    Args:
        boxes_a (np.ndarray): shape (A, 4).
        boxes_b (np.ndarray): shape (B, 4).

    Returns:
        np.ndarray: shape (A, B), IoU in [0, 1] (0 where both boxes are empty).
    """
    boxes_a = np.asarray(boxes_a, float).reshape(-1, 4)
    boxes_b = np.asarray(boxes_b, float).reshape(-1, 4)
    top_left = np.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])  # (A, B, 2)
    bottom_right = np.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(-1)
    area_a = (boxes_a[:, 2:] - boxes_a[:, :2]).prod(-1)
    area_b = (boxes_b[:, 2:] - boxes_b[:, :2]).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _shape_polygon(category_id: int, box: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Outline of a shape of ``category_id`` whose tight box is exactly ``box`` (xyxy)."""
    x1, y1, x2, y2 = box
    name = SHAPE_CLASSES[category_id - 1]
    if name == "disk":
        # 32 vertices including the 4 extreme points, so the polygon's box is exactly ``box``.
        angles = np.linspace(0.0, 2.0 * np.pi, 32, endpoint=False)
        centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
        radii = np.array([(x2 - x1) / 2, (y2 - y1) / 2])
        return centre + radii * np.stack([np.cos(angles), np.sin(angles)], 1)
    if name == "triangle":
        xm = (x1 + x2) / 2
        if rng.random() < 0.5:  # apex up
            return np.array([[xm, y1], [x2, y2], [x1, y2]])
        return np.array([[x1, y1], [x2, y1], [xm, y2]])
    if name == "l_shape":
        # Arm thickness below half the box keeps the box centre outside the L.
        thick_u, thick_v = rng.uniform(0.3, 0.4, size=2)
        # An L in the unit square (y down) with its corner at the bottom-left: a left arm of
        # width thick_u and a bottom arm of height thick_v. Then flipped horizontally and/or
        # vertically to put the corner in any of the four box corners.
        u = np.array([0.0, 0.0, 1.0, 1.0, thick_u, thick_u])
        v = np.array([0.0, 1.0, 1.0, 1.0 - thick_v, 1.0 - thick_v, 0.0])
        if rng.random() < 0.5:
            u = 1.0 - u
        if rng.random() < 0.5:
            v = 1.0 - v
        return np.stack([x1 + u * (x2 - x1), y1 + v * (y2 - y1)], 1)
    # square (axis-aligned rectangle)
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])


def _random_box(rng, image_hw, size, aspect, centre=None) -> np.ndarray:
    """An xyxy box of geometric-mean side ``size`` and ``w/h = aspect``, inside the image.

    The box is rounded to 0.5 px so that polygon coordinates stay short in the json.
    """
    height, width = image_hw
    w = min(size * math.sqrt(aspect), width - 2.0)
    h = min(size / math.sqrt(aspect), height - 2.0)
    if centre is None:
        cx = rng.uniform(w / 2 + 1, width - w / 2 - 1)
        cy = rng.uniform(h / 2 + 1, height - h / 2 - 1)
    else:
        cx = float(np.clip(centre[0], w / 2 + 1, width - w / 2 - 1))
        cy = float(np.clip(centre[1], h / 2 + 1, height - h / 2 - 1))
    box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    return np.round(box * 2) / 2


def _scene_layout(rng: np.random.Generator, image_hw, num_classes: int, max_objects: int):
    """Draw boxes, classes and group ids of one scene: isolated shapes plus crowded groups."""
    short_side = min(image_hw)
    min_size, max_size = max(4.0, 0.02 * short_side), 0.6 * short_side
    boxes: list[np.ndarray] = []
    classes: list[int] = []
    groups: list[int] = []

    def overlaps_too_much(box, limit):
        return bool(boxes) and box_iou_xyxy(box[None], np.stack(boxes)).max() > limit

    # Crowded groups: a chain where each member overlaps the previous one by IoU in
    # GROUP_IOU_RANGE and no member hides another (IoU above the range's upper end).
    num_groups = rng.choice([0, 1, 1, 2])
    for group_id in range(1, num_groups + 1):
        num_members = int(rng.integers(2, 6))
        base_size = short_side * math.exp(rng.uniform(math.log(0.1), math.log(0.3)))
        base_aspect = math.exp(rng.uniform(-0.4, 0.4))
        group_class = int(rng.integers(1, num_classes + 1))
        previous = None
        for _ in range(num_members):
            if len(boxes) >= max_objects:
                break
            for _attempt in range(30):  # rejection sampling; a failed member is just skipped
                size = base_size * rng.uniform(0.85, 1.15)
                aspect = base_aspect * rng.uniform(0.9, 1.1)
                if previous is None:
                    box = _random_box(rng, image_hw, size, aspect)
                else:
                    prev_w, prev_h = previous[2] - previous[0], previous[3] - previous[1]
                    shift = rng.uniform(0.15, 0.4, size=2) * rng.choice([-1, 1], size=2)
                    centre = (previous[:2] + previous[2:]) / 2 + shift * [prev_w, prev_h]
                    box = _random_box(rng, image_hw, size, aspect, centre)
                    if not GROUP_IOU_RANGE[0] <= box_iou_xyxy(box[None], previous[None])[0, 0]:
                        continue
                if overlaps_too_much(box, GROUP_IOU_RANGE[1]):
                    continue
                # Mostly one class per crowd (like a crowd of people), sometimes mixed.
                cls = group_class if rng.random() < 0.8 else int(rng.integers(1, num_classes + 1))
                boxes.append(box)
                classes.append(cls)
                groups.append(group_id)
                previous = box
                break

    # Isolated shapes, log-uniform sizes from tiny to large.
    num_isolated = int(rng.integers(1, 5)) if rng.random() > 0.03 else 0  # a few empty scenes
    for _ in range(num_isolated):
        if len(boxes) >= max_objects:
            break
        for _attempt in range(30):
            size = math.exp(rng.uniform(math.log(min_size), math.log(max_size)))
            box = _random_box(rng, image_hw, size, math.exp(rng.uniform(-0.5, 0.5)))
            if not overlaps_too_much(box, MAX_IOU_ISOLATED):
                boxes.append(box)
                classes.append(int(rng.integers(1, num_classes + 1)))
                groups.append(0)
                break
    # Painter's order, largest first: a small shape is never buried under a large one, so
    # occlusion comes mostly from crowded groups (similar sizes, any order among them).
    areas = np.array([(b[2] - b[0]) * (b[3] - b[1]) for b in boxes])
    order = np.argsort(-areas, kind="stable")
    return [boxes[i] for i in order], [classes[i] for i in order], [groups[i] for i in order]


def _rasterise(polygon: np.ndarray, image_hw) -> np.ndarray:
    """Boolean mask (H, W) of the pixels whose centres lie inside ``polygon``."""
    canvas = Image.new("L", (image_hw[1], image_hw[0]), 0)
    # PIL fills pixel (i, j) when its integer coordinate is inside; shifting by -0.5 makes the
    # test use the pixel centre (j + 0.5, i + 0.5), matching the COCO area convention.
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in (polygon - 0.5).tolist()], fill=1)
    return np.asarray(canvas, dtype=bool)


def generate_scene(
    rng: np.random.Generator,
    image_hw: tuple[int, int] = (256, 256),
    num_classes: int = 3,
    max_objects: int = 14,
) -> Scene:
    """Generate one scene.

    Args:
        rng (np.random.Generator): the only source of randomness.
        image_hw (tuple[int, int]): image ``(height, width)`` in pixels, each >= 32.
        num_classes (int): number of shape classes, 1 to ``len(SHAPE_CLASSES)``.
        max_objects (int): cap on the number of objects.

    Returns:
        Scene: the rendered image, the objects in drawing order and their masks.
    """
    height, width = image_hw
    boxes, classes, groups = _scene_layout(rng, image_hw, num_classes, max_objects)

    # Background: a random dark-to-mid colour, a horizontal gradient and pixel noise, so that
    # "anything non-uniform is an object" is not a shortcut.
    background = rng.uniform(20, 120, size=3)
    gradient = np.linspace(-20, 20, width)[None, :, None] * rng.choice([-1, 1])
    canvas = np.broadcast_to(background + gradient, (height, width, 3)).copy()

    instances, full_masks = [], []
    for box, cls, group in zip(boxes, classes, groups, strict=True):
        colour = np.clip(CLASS_COLOURS[cls - 1] + rng.uniform(-1, 1, 3) * COLOUR_JITTER, 0, 255)
        polygon = np.round(_shape_polygon(cls, box, rng), 2)
        mask = _rasterise(polygon, image_hw)
        canvas[mask] = (1 - ALPHA) * canvas[mask] + ALPHA * colour
        instances.append(ShapeInstance(cls, polygon, np.round(colour, 1), group))
        full_masks.append(mask)
    canvas += rng.normal(0.0, 6.0, size=canvas.shape)
    image = np.clip(np.round(canvas), 0, 255).astype(np.uint8)

    full = np.stack(full_masks) if full_masks else np.zeros((0, height, width), bool)
    # Covered-by-later: reverse cumulative OR of the masks drawn after each instance.
    covered_after = np.zeros_like(full)
    if len(full) > 1:
        later = np.logical_or.accumulate(full[::-1], axis=0)[::-1]  # later[i] = OR of full[i:]
        covered_after[:-1] = later[1:]
    visible = full & ~covered_after
    return Scene(image=image, instances=instances, visible_masks=visible, full_masks=full)


def _mask_box_xywh(mask: np.ndarray) -> list[float]:
    """Pixel box ``[x, y, w, h]`` of a boolean mask (all zeros if the mask is empty)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [
        float(xs.min()),
        float(ys.min()),
        float(xs.max() + 1 - xs.min()),
        float(ys.max() + 1 - ys.min()),
    ]


def _round_list(values, ndigits: int = 2) -> list[float]:
    return [round(float(v), ndigits) for v in values]


def _coco_records(scene: Scene, image_id: int, first_ann_id: int):
    """COCO annotation dicts of ``scene`` (ids from ``first_ann_id``)."""
    annotations = []
    for offset, inst in enumerate(scene.instances):
        x1, y1, x2, y2 = inst.box_xyxy
        annotations.append(
            {
                "id": first_ann_id + offset,
                "image_id": image_id,
                "category_id": inst.category_id,
                "bbox": _round_list([x1, y1, x2 - x1, y2 - y1]),
                "area": round(polygon_area(inst.polygon), 4),
                "iscrowd": 0,
                "segmentation": [_round_list(inst.polygon.reshape(-1))],
                "group": inst.group,  # extra key, ignored by COCO tools: 0 = not in a crowd
            }
        )
    return annotations


def _odgt_record(scene: Scene, record_id: str, ignore_size: float) -> dict:
    """CrowdHuman record of ``scene`` (one class: every shape is a "person")."""
    height, width = scene.image.shape[:2]
    gtboxes = []
    for index, inst in enumerate(scene.instances):
        x1, y1, x2, y2 = inst.box_xyxy
        fbox = _round_list([x1, y1, x2 - x1, y2 - y1])
        full_pixels = int(scene.full_masks[index].sum())
        visible_pixels = int(scene.visible_masks[index].sum())
        occluded = full_pixels > 0 and visible_pixels < (1 - OCCLUDED_IGNORE) * full_pixels
        tiny = max(x2 - x1, y2 - y1) < ignore_size
        vbox = fbox if visible_pixels == full_pixels else _mask_box_xywh(scene.visible_masks[index])
        gtboxes.append(
            {
                "tag": "mask" if tiny else "person",
                "fbox": fbox,
                "vbox": vbox,
                "hbox": _round_list([x1, y1, x2 - x1, (y2 - y1) / 4]),
                "head_attr": {"ignore": 0},
                "extra": {
                    "box_id": index,
                    "ignore": int(occluded and not tiny),
                    "occ": round(1.0 - visible_pixels / max(full_pixels, 1), 4),
                },
            }
        )
    return {"ID": record_id, "height": height, "width": width, "gtboxes": gtboxes}


def _dump_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def write_synthetic_dataset(
    out_dir: str | os.PathLike,
    *,
    num_train: int,
    num_val: int,
    image_size: tuple[int, int] = (256, 256),
    seed: int = 0,
    num_classes: int = 3,
    max_objects: int = 14,
    ignore_size: float = 8.0,
    overwrite: bool = False,
    what: str = "--out",
) -> dict:
    """Write a synthetic dataset in COCO and CrowdHuman formats (see the module docstring).

    Args:
        out_dir (str | PathLike): the dataset directory to create.
        num_train (int): number of training images, >= 1.
        num_val (int): number of validation images, >= 1.
        image_size (tuple[int, int]): ``(height, width)`` in pixels, each in [32, 4096].
        seed (int): master seed, >= 0; the output is a pure function of all arguments.
        num_classes (int): number of shape classes, 1 to 4 (first ones of ``SHAPE_CLASSES``).
        max_objects (int): cap on objects per image, >= 1.
        ignore_size (float): shapes with a longer side below this are CrowdHuman ignore
            regions (``tag="mask"``).
        overwrite (bool): replace ``out_dir`` when it is a dataset this generator wrote;
            otherwise such a directory raises ``FileExistsError``. An empty ``out_dir`` is
            always used; any other existing path is refused (``UnsafeOutputError``).
        what (str): how the caller's user named ``out_dir``, for the error messages.

    Returns:
        dict: absolute paths (``root``, ``instances_train``, ``instances_val``, ``crowd_train``,
        ``crowd_val``, ``crowd_images``) and counts (``num_images``, ``num_objects``,
        ``num_group_objects`` per split, and ``num_ignore`` for the crowd files), and
        ``old_tree_left``: None, or the folder holding the replaced dataset when it could not be
        deleted (the new one is in place).

    Raises:
        ValueError: an argument is out of range, too many images, or not enough disk space.
        o2f_core.io.UnsafeOutputError (a ValueError): ``out_dir`` must not be replaced.
        FileExistsError: ``out_dir`` is our dataset and ``overwrite`` is False.
    """
    height, width = (int(v) for v in image_size)
    checks = [
        (num_train >= 1, f"num_train must be >= 1, got {num_train}"),
        (num_val >= 1, f"num_val must be >= 1, got {num_val}"),
        (
            32 <= height <= 4096 and 32 <= width <= 4096,
            f"image_size must be (H, W) with 32 <= H, W <= 4096, got {tuple(image_size)}",
        ),
        (seed >= 0, f"seed must be >= 0, got {seed}"),
        (
            1 <= num_classes <= len(SHAPE_CLASSES),
            f"num_classes must be in 1..{len(SHAPE_CLASSES)}, got {num_classes}",
        ),
        (max_objects >= 1, f"max_objects must be >= 1, got {max_objects}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    if num_train + num_val > MAX_IMAGES:
        raise ValueError(
            f"num_train + num_val = {num_train + num_val:,} images is more than this generator "
            f"makes (at most {MAX_IMAGES:,}); ask for fewer images"
        )
    _check_free_space(Path(out_dir), num_train + num_val, height, width)

    params = {
        "format_version": FORMAT_VERSION,
        "num_train": num_train,
        "num_val": num_val,
        "image_size": [height, width],
        "seed": seed,
        "num_classes": num_classes,
        "max_objects": max_objects,
        "ignore_size": ignore_size,
    }
    categories = [
        {"id": i + 1, "name": name, "supercategory": "shape"}
        for i, name in enumerate(SHAPE_CLASSES[:num_classes])
    ]
    stats = {}
    with staged_directory(out_dir, owner=OWNER, marker_file="meta.json", layout=LAYOUT,
                          overwrite=overwrite, what=what, tool=TOOL,
                          legacy=_legacy_meta) as staged:
        staging = Path(staged.path)
        (staging / "annotations").mkdir()
        (staging / "Images").mkdir()
        for split, count in (("train", num_train), ("val", num_val)):
            (staging / split).mkdir()
            images, annotations, odgt_lines = [], [], []
            num_group_objects = num_ignore = 0
            for index in range(1, count + 1):
                rng = np.random.default_rng([seed, _SPLIT_IDS[split], index])
                scene = generate_scene(rng, (height, width), num_classes, max_objects)
                file_name = f"{index:06d}.png"
                record_id = f"{split}_{index:06d}"
                pil_image = Image.fromarray(scene.image)
                pil_image.save(staging / split / file_name, format="PNG")
                pil_image.save(
                    staging / "Images" / f"{record_id}.jpg",
                    format="JPEG",
                    quality=95,
                    subsampling=0,
                )
                images.append(
                    {"id": index, "file_name": file_name, "height": height, "width": width}
                )
                annotations += _coco_records(scene, index, len(annotations) + 1)
                record = _odgt_record(scene, record_id, ignore_size)
                num_ignore += sum(
                    box["tag"] == "mask" or box["extra"]["ignore"] for box in record["gtboxes"]
                )
                num_group_objects += sum(inst.group > 0 for inst in scene.instances)
                odgt_lines.append(_dump_json(record))
            coco = {
                "images": images,
                "annotations": annotations,
                "categories": categories,
                "info": {"description": "o2f synthetic shapes", **params},
                "licenses": [],
            }
            (staging / "annotations" / f"instances_{split}.json").write_text(_dump_json(coco))
            (staging / "annotations" / f"crowd_{split}.odgt").write_text(
                "\n".join(odgt_lines) + "\n"
            )
            stats[split] = {
                "num_images": count,
                "num_objects": len(annotations),
                "num_group_objects": num_group_objects,
                "num_ignore": num_ignore,
            }
        # Written last: a directory with this signature is a complete dataset of ours.
        meta = {OWNER_KEY: OWNER, "params": params, "stats": stats}
        (staging / "meta.json").write_text(_dump_json(meta) + "\n")
    out_dir = Path(staged.target)

    ann = out_dir / "annotations"
    return {
        "root": str(out_dir),
        "instances_train": str(ann / "instances_train.json"),
        "instances_val": str(ann / "instances_val.json"),
        "crowd_train": str(ann / "crowd_train.odgt"),
        "crowd_val": str(ann / "crowd_val.odgt"),
        "crowd_images": str(out_dir / "Images"),
        "params": params,
        "stats": stats,
        "old_tree_left": staged.old_tree_left,
    }


def read_meta(out_dir: str | os.PathLike) -> dict | None:
    """The ``meta.json`` of a dataset this generator wrote (``{"params", "stats", ...}``), or
    None when ``out_dir`` is not one (absent, foreign or broken ``meta.json``)."""
    if not is_synthetic_dataset(out_dir):
        return None
    meta = json.loads((Path(out_dir) / "meta.json").read_text())
    return meta if isinstance(meta.get("params"), dict) else None


def is_synthetic_dataset(out_dir: str | os.PathLike) -> bool:
    """True when ``out_dir`` is a directory written by :func:`write_synthetic_dataset`."""
    return Path(out_dir).is_dir() and owns_directory(out_dir, OWNER, "meta.json", LAYOUT,
                                                   _legacy_meta)


def estimate_dataset_bytes(num_images: int, height: int, width: int) -> int:
    """Disk space a dataset of ``num_images`` images of ``height`` x ``width`` needs, from above.

    Measured on this generator (noisy scenes): PNG about 2.0 bytes per pixel, JPEG (quality 95,
    no chroma subsampling) 0.75 to 1.8, annotations about 3.2 KB per image. The estimate takes
    2.5 and 1.25 bytes per pixel plus headers, each file rounded up to 4 KiB blocks.
    """

    def on_disk(size: float) -> int:
        return -(-int(size) // 4096) * 4096

    pixels = height * width
    per_image = on_disk(2.5 * pixels + 1024) + on_disk(1.25 * pixels + 2048) + 4096
    return num_images * per_image


def _check_free_space(out_dir: Path, num_images: int, height: int, width: int) -> None:
    """Refuse (ValueError) a dataset that cannot fit on the disk holding ``out_dir``."""
    probe = out_dir.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:  # unknown: the write itself will tell
        return
    needed = estimate_dataset_bytes(num_images, height, width)
    if needed > free:
        raise ValueError(
            f"{num_images:,} images of {height}x{width} need about {needed / 2**30:.1f} GiB, but "
            f"{probe} has {free / 2**30:.1f} GiB free; ask for fewer or smaller images"
        )


# ------------------------------------------------------------------------------------ CLI


def parse_args(argv):
    """``tools/make_synthetic.py``'s options; a bad one raises ``CliError`` (one line)."""
    from o2f_core.cli import OneLineArgumentParser

    parser = OneLineArgumentParser(
        prog="tools/make_synthetic.py",
        description="Write the synthetic shapes dataset (COCO json + PNG, CrowdHuman .odgt "
        "+ JPEG).")
    parser.add_argument("--out", required=True, help="dataset directory to create")
    parser.add_argument("--seed", type=int, default=0, help="master seed (>= 0)")
    parser.add_argument("--num-train", type=int, default=400, help="training images (>= 1)")
    parser.add_argument("--num-val", type=int, default=100, help="validation images (>= 1)")
    parser.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=(256, 256),
        metavar=("H", "W"),
        help="image height and width in pixels (32..4096)",
    )
    parser.add_argument("--num-classes", type=int, default=3, help="shape classes (1..4)")
    parser.add_argument("--max-objects", type=int, default=14, help="objects per image cap")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --out that this tool wrote (never anything else)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """``tools/make_synthetic.py``: writes the dataset; returns the exit code (2: user error)."""
    import sys

    from o2f_core.cli import CliError
    from o2f_core.io import install_termination_handlers

    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except CliError as error:
        print(error, file=sys.stderr)
        return 2

    install_termination_handlers()  # SIGTERM removes the staging folder like Ctrl-C does
    try:
        result = write_synthetic_dataset(
            args.out,
            num_train=args.num_train,
            num_val=args.num_val,
            image_size=tuple(args.size),
            seed=args.seed,
            num_classes=args.num_classes,
            max_objects=args.max_objects,
            overwrite=args.overwrite,
        )
    except (ValueError, FileExistsError) as error:  # UnsafeOutputError is a ValueError
        print(f"make_synthetic: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. permission denied, disk full: nothing was left behind
        where = f" ({error.filename})" if error.filename else ""
        print(f"make_synthetic: error: cannot write {args.out}: {error.strerror}{where}; "
              "nothing was written", file=sys.stderr)
        return 2
    print(f"wrote {result['root']}: " + json.dumps(result["stats"], sort_keys=True))
    if result["old_tree_left"]:
        print(f"make_synthetic: warning: the replaced dataset could not be deleted completely; "
              f"what is left of it is in {result['old_tree_left']} (delete it yourself)",
              file=sys.stderr)
    return 0
