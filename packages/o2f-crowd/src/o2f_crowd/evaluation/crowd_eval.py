"""CrowdHuman full-body evaluation: AP, mMR, Recall and JI with the community reference rules.

The rules (``shared/notes/crowdhuman_eval.md``) are those of cvpods' ``crowdhumantools.py``
(AP, mMR, Recall) and CrowdDet's ``compute_JI.py`` (JI). Everything is float64 and the IoU/IoA
formulas keep the reference's operation order, so results agree to the last bits (the worked
example to 1e-12):

* boxes ``[x, y, w, h] -> [x, y, x + w, y + h]``, then gt **and** detections are clipped to the
  image: ``x1 -> [0, W - 1]``, ``y1 -> [0, H - 1]``, ``x2 -> [0, W]``, ``y2 -> [0, H]``;
* IoU = inter / (area_d + area_g - inter + 1e-6), IoA = inter / (area_d + 1e-6);
* per image, detections in descending score order (stable: ties keep file order) greedily take
  the unmatched person of highest IoU (ties: the earliest person) if that IoU is **strictly**
  above 0.5; an unmatched detection with IoA > 0.5 on an ignore region is dropped, any other is a
  false positive;
* all scored detections of all images are sorted by score with a stable sort (ties: gt-file
  image order, then per-image order); Recall = final TP / persons; AP = trapezoids over the
  (recall, precision) points from the first detection on, no interpolation; mMR at the 9 rounded
  FPPI literals with FPPI = FP / images in the gt file (the first point with FPPI >= reference,
  else the last point);
* JI for ``thr = 0.1 * i`` (i = 0..9, float64): keep scores > thr; per image, a maximum-weight
  bipartite matching on the pairs with IoU > 0.5 gives k; n and m are the kept detections and
  the persons, minus their unmatched members inside an ignore region (IoA > 0.5);
  ratio = k / (m + n - k + 1e-6); the mean is ``np.sum`` of the ratios in gt-file order over the
  images with n or m non-zero; JI is the best mean.

Decisions where the reference is silent (tested in ``tests/crowd``):

* An image with no gt boxes counts (in FPPI and in JI): its detections are false positives.
* Ignore regions are gt boxes whose tag is not ``person`` or whose ``extra.ignore`` is non-zero.
* Image size: the gt record's ``height``/``width``; if the gt record has none (as in the
  official CrowdHuman annotation files), the detection record's; if neither has one: an error
  naming the gt line (unless there is no detection record, see below).
* A gt image without a detection record is an image without detections, as in the authors'
  evaluator and cvpods; if its gt record has no size either, its boxes are not clipped (only the
  persons-in-ignore-region count of JI can see that). A detection record whose ID is not in the
  gt, or a repeated ID in either input, is an error.
* A gt without any person makes Recall and AP undefined: an error, never a number. Without any
  scored detection (none at all, or all dropped) AP = 0, Recall = 0, mMR = 1 (miss rate 1 at
  every FPPI reference) and JI = 0. A threshold at which every image has n = m = 0 has JI mean 0
  (the reference divides by zero there).
* JI's k is the size of *a* maximum-weight matching (see :mod:`.matching`). Maximum-weight
  matchings of different sizes need an exact tie of IoU sums, where the reference's choice is
  arbitrary too; the same holds for which of two equally good detections is matched.

Speed: clipping and sorting run on the boxes of all images at once; the IoU > 0.5 pairs and the
ignore flags on batches of images padded to one (images, detections, persons) block (images
sorted by size, so padding stays small; NaN padding matches nothing); the greedy matching, the JI
matchings (re-solved, from one threshold to the next, only where the kept detections changed) and
all counts run on flat arrays of every image at once (:mod:`.matching`).

Memory: detection x person (and box x ignore-region) arrays are built for at most
:data:`PAIR_CHUNK_ELEMENTS` pairs at a time (batches of images, or row blocks of one big image),
whose results are concatenated in row-major order, so the numbers are those of one dense pass
and one image with 300k detections and 1,000 persons needs no 2.2 GiB array.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .matching import (
    MATCH_THRESHOLD,
    EligiblePairs,
    MaxWeightMatcher,
    greedy_match,
    greedy_match_pairs,
    max_weight_matching,
)
from .odgt import (
    DtImage,
    GtImage,
    OdgtFormatError,
    check_unique_ids,
    parse_dt_record,
    parse_gt_record,
)

__all__ = [
    "JI_SCORE_THRESHOLDS",
    "MR_REFERENCE_FPPI",
    "MR_REFERENCE_FPPI_4",
    "clip_boxes",
    "eligible_pairs",
    "evaluate",
    "greedy_match",
    "max_weight_matching",
    "pairwise_ioa",
    "pairwise_iou",
]

EPS = 1e-6
# The rounded Caltech literals, not 10 ** linspace(-2, 0, 9): the two differ in mMR on
# CrowdHuman val.
MR_REFERENCE_FPPI = np.array(
    [0.0100, 0.0178, 0.0316, 0.0562, 0.1000, 0.1778, 0.3162, 0.5623, 1.0000])
# mmdet's ``mr_ref='CALTECH_-4'`` (10^-4 .. 1, S. Zhang's rounded literals).
MR_REFERENCE_FPPI_4 = np.array(
    [0.0001, 0.0003, 0.0010, 0.0032, 0.0100, 0.0316, 0.1000, 0.3162, 1.0000])
# 0.1 * i in float64, as the reference computes them (the third is 0.30000000000000004).
JI_SCORE_THRESHOLDS = tuple(0.1 * i for i in range(10))
# Pairs per block of the detection x person and box x region arrays: 2**21 float64 elements are
# 16 MiB per temporary, a handful of which are alive at once.
PAIR_CHUNK_ELEMENTS = 1 << 21


def _row_blocks(num_rows: int, num_cols: int, chunk_elements: int | None):
    """Slices of at least one row covering ``range(num_rows)``, each <= ``chunk_elements`` pairs."""
    chunk_elements = PAIR_CHUNK_ELEMENTS if chunk_elements is None else chunk_elements
    step = max(1, chunk_elements // max(num_cols, 1))
    return [slice(start, min(start + step, num_rows)) for start in range(0, num_rows, step)]


def clip_boxes(boxes: np.ndarray, height: float, width: float) -> np.ndarray:
    """Clip xyxy boxes to an image the reference's way (x1 to W - 1, x2 to W).

    Args:
        boxes (np.ndarray): (N, 4) xyxy.
        height (float): Image height H.
        width (float): Image width W.

    Returns:
        np.ndarray: (N, 4) float64, a new array.
    """
    clipped = np.empty(boxes.shape, dtype=np.float64)
    clipped[:, 0] = np.minimum(np.maximum(boxes[:, 0], 0), width - 1)
    clipped[:, 1] = np.minimum(np.maximum(boxes[:, 1], 0), height - 1)
    clipped[:, 2] = np.maximum(np.minimum(boxes[:, 2], width), 0)
    clipped[:, 3] = np.maximum(np.minimum(boxes[:, 3], height), 0)
    return clipped


def _intersection_and_areas(boxes_a: np.ndarray, boxes_b: np.ndarray):
    width = np.minimum(boxes_a[:, None, 2], boxes_b[None, :, 2]) - np.maximum(
        boxes_a[:, None, 0], boxes_b[None, :, 0])
    height = np.minimum(boxes_a[:, None, 3], boxes_b[None, :, 3]) - np.maximum(
        boxes_a[:, None, 1], boxes_b[None, :, 1])
    intersection = np.maximum(0, width) * np.maximum(0, height)
    area_a = (boxes_a[:, 2] - boxes_a[:, 0]) * (boxes_a[:, 3] - boxes_a[:, 1])
    return intersection, area_a


def pairwise_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU = inter / (area_a + area_b - inter + 1e-6), in the reference's operation order.

    Args:
        boxes_a (np.ndarray): (A, 4) xyxy.
        boxes_b (np.ndarray): (B, 4) xyxy.

    Returns:
        np.ndarray: (A, B) float64.
    """
    intersection, area_a = _intersection_and_areas(boxes_a, boxes_b)
    area_b = (boxes_b[:, 2] - boxes_b[:, 0]) * (boxes_b[:, 3] - boxes_b[:, 1])
    return intersection / (area_a[:, None] + area_b[None, :] - intersection + EPS)


def pairwise_ioa(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoA = inter / (area_a + 1e-6): the share of each box of ``boxes_a`` inside each of
    ``boxes_b``.

    Args:
        boxes_a (np.ndarray): (A, 4) xyxy, the boxes whose area is the denominator.
        boxes_b (np.ndarray): (B, 4) xyxy, e.g. ignore regions.

    Returns:
        np.ndarray: (A, B) float64.
    """
    intersection, area_a = _intersection_and_areas(boxes_a, boxes_b)
    return intersection / (area_a[:, None] + EPS)


def _inside_any(boxes: np.ndarray, regions: np.ndarray,
                chunk_elements: int | None = None) -> np.ndarray:
    """(N,) bool: IoA of the box with some region strictly above 0.5 (in bounded row blocks)."""
    inside = np.zeros(len(boxes), dtype=bool)
    if len(boxes) == 0 or len(regions) == 0:
        return inside
    for rows in _row_blocks(len(boxes), len(regions), chunk_elements):
        inside[rows] = (pairwise_ioa(boxes[rows], regions) > MATCH_THRESHOLD).any(axis=1)
    return inside


def _as_images(records, parse, default_source: str):
    return [record if isinstance(record, (GtImage, DtImage))
            else parse(record, default_source, index + 1) for index, record in enumerate(records)]


def _image_size(gt: GtImage, dt: DtImage | None) -> tuple[float, float] | None:
    """The size used for clipping: the gt record's, else the detection record's; None (no
    clipping) when neither has one and there is no detection record."""
    if gt.height is not None and gt.width is not None:
        return gt.height, gt.width
    if dt is not None and dt.height is not None and dt.width is not None:
        return dt.height, dt.width
    if dt is None:
        return None
    raise OdgtFormatError(
        gt.source, gt.line, f"image '{gt.image_id}' has no height/width in the gt record nor in a "
        "detection record", 'add "height" and "width" (pixels) to the gt or the detection record')


def _image_geometry(gt: GtImage, dt: DtImage | None):
    """Clip and sort one image; its detections' scores, eligible pairs and ignore flags (the
    one-image definition that :func:`_dataset_geometry` computes for all images at once).

    Returns:
        tuple: ``scores`` (D,) descending (stable: ties keep file order), ``pair_det`` and
        ``pair_person`` (E,) local indices of the pairs with IoU > 0.5 (detection-major),
        ``pair_iou`` (E,), ``det_in_ignore`` (D,) and ``person_in_ignore`` (P,) bool.
    """
    size = _image_size(gt, dt)
    if size is None:  # no detections to match: the gt boxes are taken as they are
        persons, ignores = gt.persons, gt.ignores
    else:
        persons = clip_boxes(gt.persons, *size)
        ignores = clip_boxes(gt.ignores, *size)
    if dt is None or dt.scores.size == 0:
        scores, boxes = np.zeros(0), np.zeros((0, 4))
    else:
        order = np.argsort(-dt.scores, kind="stable")
        scores, boxes = dt.scores[order], clip_boxes(dt.boxes[order], *size)
    pair_det, pair_person, pair_iou = eligible_pairs(boxes, persons)
    return (scores, pair_det, pair_person, pair_iou,
            _inside_any(boxes, ignores), _inside_any(persons, ignores))


def _clip_rows(boxes: np.ndarray, bounds: np.ndarray, clipped_rows: np.ndarray) -> np.ndarray:
    """:func:`clip_boxes` with one image size per row; rows with ``clipped_rows`` False stay.

    Args:
        boxes (np.ndarray): (N, 4) xyxy.
        bounds (np.ndarray): (N, 4) ``W - 1, H - 1, W, H`` of each row's image.
        clipped_rows (np.ndarray): (N,) bool.
    """
    clipped = np.empty(boxes.shape, dtype=np.float64)
    clipped[:, :2] = np.minimum(np.maximum(boxes[:, :2], 0), bounds[:, :2])
    clipped[:, 2:] = np.maximum(np.minimum(boxes[:, 2:], bounds[:, 2:]), 0)
    return clipped if clipped_rows.all() else np.where(clipped_rows[:, None], clipped, boxes)


def _image_batches(rows_per_image: np.ndarray, cols_per_image: np.ndarray,
                   chunk_elements: int):
    """Groups of images (index arrays) whose padded (images, rows, cols) block holds at most
    ``chunk_elements`` pairs; images sorted by (rows, cols) so that padding stays small. Images
    with no pair are left out, those bigger than one block come alone (to be split by rows)."""
    order = np.lexsort((cols_per_image, rows_per_image))
    order = order[rows_per_image[order] * cols_per_image[order] > 0]
    batches, start = [], 0
    while start < order.size:
        stop = start + 1
        rows_max, cols_max = rows_per_image[order[start]], cols_per_image[order[start]]
        while stop < order.size:
            rows_next = max(rows_max, rows_per_image[order[stop]])
            cols_next = max(cols_max, cols_per_image[order[stop]])
            if (stop + 1 - start) * rows_next * cols_next > chunk_elements:
                break
            rows_max, cols_max, stop = rows_next, cols_next, stop + 1
        batches.append(order[start:stop])
        start = stop
    return batches


def _padded(boxes: np.ndarray, offsets: np.ndarray, counts: np.ndarray, images: np.ndarray):
    """(B, max count, 4) boxes of ``images``, padded with NaN (no comparison holds on NaN)."""
    width = int(counts[images].max())
    valid = np.arange(width)[None, :] < counts[images][:, None]
    padded = np.full((images.size, width, 4), np.nan)
    padded[valid] = boxes[(offsets[images][:, None] + np.arange(width)[None, :])[valid]]
    return padded


def _batched_eligible_pairs(a, b):
    """:func:`_eligible_pairs_block` on (B, A, 4) x (B, P, 4) padded blocks, image by image:
    ``(image in batch, row, col, iou)`` of the pairs with IoU > 0.5, in (image, row, col) order."""
    width = np.minimum(a[:, :, None, 2], b[:, None, :, 2]) - np.maximum(
        a[:, :, None, 0], b[:, None, :, 0])
    width_sum = (a[:, :, 2] - a[:, :, 0])[:, :, None] + (b[:, :, 2] - b[:, :, 0])[:, None, :]
    image, rows, cols = np.nonzero((width > 0) & (width > 0.3 * width_sum))
    box_a, box_b = a[image, rows], b[image, cols]
    height = np.minimum(box_a[:, 3], box_b[:, 3]) - np.maximum(box_a[:, 1], box_b[:, 1])
    intersection = np.maximum(0, width[image, rows, cols]) * np.maximum(0, height)
    area_a = (box_a[:, 2] - box_a[:, 0]) * (box_a[:, 3] - box_a[:, 1])
    area_b = (box_b[:, 2] - box_b[:, 0]) * (box_b[:, 3] - box_b[:, 1])
    iou = intersection / (area_a + area_b - intersection + EPS)
    keep = iou > MATCH_THRESHOLD
    return image[keep], rows[keep], cols[keep], iou[keep]


def _batched_inside_any(a, regions):
    """:func:`_inside_any` on (B, A, 4) x (B, R, 4) padded blocks: (B, A) bool."""
    width = np.minimum(a[:, :, None, 2], regions[:, None, :, 2]) - np.maximum(
        a[:, :, None, 0], regions[:, None, :, 0])
    height = np.minimum(a[:, :, None, 3], regions[:, None, :, 3]) - np.maximum(
        a[:, :, None, 1], regions[:, None, :, 1])
    intersection = np.maximum(0, width) * np.maximum(0, height)
    area_a = (a[:, :, 2] - a[:, :, 0]) * (a[:, :, 3] - a[:, :, 1])
    return (intersection / (area_a[:, :, None] + EPS) > MATCH_THRESHOLD).any(axis=2)


def _flags_inside_regions(boxes, box_offsets, box_counts, regions, region_offsets,
                          region_counts, chunk_elements):
    """(N,) bool: each box's IoA with some region of its image > 0.5 (:func:`_inside_any`)."""
    inside = np.zeros(len(boxes), dtype=bool)
    for images in _image_batches(box_counts, region_counts, chunk_elements):
        if images.size == 1 and box_counts[images[0]] * region_counts[images[0]] > chunk_elements:
            image = images[0]
            rows = slice(box_offsets[image], box_offsets[image] + box_counts[image])
            inside[rows] = _inside_any(boxes[rows], regions[
                region_offsets[image]:region_offsets[image] + region_counts[image]],
                chunk_elements)
            continue
        found = _batched_inside_any(_padded(boxes, box_offsets, box_counts, images),
                                    _padded(regions, region_offsets, region_counts, images))
        valid = np.arange(found.shape[1])[None, :] < box_counts[images][:, None]
        inside[(box_offsets[images][:, None] + np.arange(found.shape[1])[None, :])[valid]] = \
            found[valid]
    return inside


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)


def _dataset_geometry(gt_images: Sequence[GtImage], dt_by_id: dict):
    """Clip and sort every image, then the eligible pairs and ignore flags of all of them, in
    batches of images padded to one block (bit for bit what :func:`_image_geometry` gives image by
    image, concatenated in gt order).

    Returns:
        tuple: ``scores`` (D,) in (image, descending score) order, ``dets_per_image`` (N,),
        ``pair_det``, ``pair_person`` (E,) global indices (detection-major), ``pair_iou`` (E,),
        ``det_in_ignore`` (D,) and ``person_in_ignore`` (P,) bool.
    """
    chunk_elements = PAIR_CHUNK_ELEMENTS
    num_images = len(gt_images)
    dts = [dt_by_id.get(gt.image_id) for gt in gt_images]
    sizes = [_image_size(gt, dt) for gt, dt in zip(gt_images, dts, strict=True)]
    # W - 1 etc. in Python's arithmetic on the record's numbers, as clip_boxes computes them.
    bounds = np.array([(0, 0, 0, 0) if size is None else
                       (size[1] - 1, size[0] - 1, size[1], size[0]) for size in sizes],
                      dtype=np.float64).reshape(num_images, 4)
    has_size = np.array([size is not None for size in sizes], dtype=bool)
    persons_per_image = np.array([len(gt.persons) for gt in gt_images], dtype=np.int64)
    ignores_per_image = np.array([len(gt.ignores) for gt in gt_images], dtype=np.int64)
    dets_per_image = np.array([0 if dt is None else dt.scores.size for dt in dts], dtype=np.int64)

    def clipped(parts, counts):
        boxes = np.concatenate([np.zeros((0, 4))] + parts).reshape(-1, 4)
        image = np.repeat(np.arange(num_images), counts)
        return _clip_rows(boxes, bounds[image], has_size[image])

    persons = clipped([gt.persons for gt in gt_images], persons_per_image)
    ignores = clipped([gt.ignores for gt in gt_images], ignores_per_image)
    with_dets = [dt for dt in dts if dt is not None and dt.scores.size]
    scores = np.concatenate([np.zeros(0)] + [dt.scores for dt in with_dets])
    det_image = np.repeat(np.arange(num_images), dets_per_image)
    order = np.lexsort((-scores, det_image))  # stable: ties keep file order
    scores = scores[order]
    boxes = clipped([dt.boxes for dt in with_dets], dets_per_image)[order]

    det_offset, person_offset = _offsets(dets_per_image), _offsets(persons_per_image)
    ignore_offset = _offsets(ignores_per_image)
    found = []
    for images in _image_batches(dets_per_image, persons_per_image, chunk_elements):
        if images.size == 1 and dets_per_image[images[0]] * persons_per_image[images[0]] \
                > chunk_elements:
            image = images[0]
            rows, cols, iou = eligible_pairs(
                boxes[det_offset[image]:det_offset[image] + dets_per_image[image]],
                persons[person_offset[image]:person_offset[image] + persons_per_image[image]],
                chunk_elements)
            found.append((np.full(rows.size, image), rows, cols, iou))
            continue
        index, rows, cols, iou = _batched_eligible_pairs(
            _padded(boxes, det_offset, dets_per_image, images),
            _padded(persons, person_offset, persons_per_image, images))
        found.append((images[index], rows, cols, iou))
    pair_image = np.concatenate([np.zeros(0, np.int64)] + [f[0] for f in found])
    by_image = np.argsort(pair_image, kind="stable")  # within an image: (row, col) order already
    pair_image = pair_image[by_image]
    pair_det = np.concatenate([np.zeros(0, np.int64)] + [f[1] for f in found])[by_image] \
        + det_offset[pair_image]
    pair_person = np.concatenate([np.zeros(0, np.int64)] + [f[2] for f in found])[by_image] \
        + person_offset[pair_image]
    pair_iou = np.concatenate([np.zeros(0)] + [f[3] for f in found])[by_image]
    det_in_ignore = _flags_inside_regions(boxes, det_offset, dets_per_image, ignores,
                                          ignore_offset, ignores_per_image, chunk_elements)
    person_in_ignore = _flags_inside_regions(persons, person_offset, persons_per_image, ignores,
                                             ignore_offset, ignores_per_image, chunk_elements)
    return (scores, dets_per_image, pair_det, pair_person, pair_iou, det_in_ignore,
            person_in_ignore)

def eligible_pairs(boxes_a: np.ndarray, boxes_b: np.ndarray, chunk_elements: int | None = None):
    """The pairs with IoU > 0.5, and their IoU, equal bit for bit to :func:`pairwise_iou`'s.

    Only pairs that overlap enough horizontally get the full formula: IoU > 0.5 needs
    inter > (area_a + area_b) / 3, and inter <= overlap_width * min(h_a, h_b) with
    area >= width * min(h_a, h_b), so overlap_width > (w_a + w_b) / 3 > 0.3 (w_a + w_b).
    The (A, B) arrays are built for blocks of rows of at most ``chunk_elements`` pairs; each pair
    is computed the same way in any block, so the result does not depend on the block size.

    Args:
        boxes_a (np.ndarray): (A, 4) xyxy.
        boxes_b (np.ndarray): (B, 4) xyxy.
        chunk_elements (int, optional): Pairs per block; default :data:`PAIR_CHUNK_ELEMENTS`.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: row and column indices (row-major order) and
        IoU of the eligible pairs.
    """
    blocks = _row_blocks(len(boxes_a), len(boxes_b), chunk_elements)
    if len(blocks) <= 1:
        return _eligible_pairs_block(boxes_a, boxes_b)
    found = [_eligible_pairs_block(boxes_a[rows], boxes_b) for rows in blocks]
    return (np.concatenate([rows_found + rows.start
                            for rows, (rows_found, _, _) in zip(blocks, found, strict=True)]),
            np.concatenate([cols for _, cols, _ in found]),
            np.concatenate([iou for _, _, iou in found]))


def _eligible_pairs_block(boxes_a: np.ndarray, boxes_b: np.ndarray):
    """:func:`eligible_pairs` with one dense (A, B) pass."""
    width = np.minimum(boxes_a[:, None, 2], boxes_b[None, :, 2]) - np.maximum(
        boxes_a[:, None, 0], boxes_b[None, :, 0])
    width_sum = (boxes_a[:, 2] - boxes_a[:, 0])[:, None] + (boxes_b[:, 2] - boxes_b[:, 0])[None]
    rows, cols = np.nonzero((width > 0) & (width > 0.3 * width_sum))
    a, b = boxes_a[rows], boxes_b[cols]
    height = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    intersection = np.maximum(0, width[rows, cols]) * np.maximum(0, height)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iou = intersection / (area_a + area_b - intersection + EPS)
    keep = iou > MATCH_THRESHOLD
    return rows[keep], cols[keep], iou[keep]


def _average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """Trapezoids between consecutive points, summed left to right as the reference does."""
    if recall.size < 2:
        return 0.0
    terms = (recall[1:] - recall[:-1]) * ((precision[:-1] + precision[1:]) / 2)
    return float(np.cumsum(terms)[-1])  # cumsum adds sequentially (np.sum would add pairwise)


def _log_average_miss_rate(fppi: np.ndarray, miss_rate: np.ndarray,
                           reference: np.ndarray = MR_REFERENCE_FPPI) -> float:
    """exp(mean(log(miss rate))) at the reference FPPIs; 1.0 when there is no scored detection."""
    if fppi.size == 0:
        return 1.0
    # fppi is non-decreasing: the first index with fppi >= ref, or the last detection if none is.
    index = np.minimum(np.searchsorted(fppi, reference, side="left"), fppi.size - 1)
    with np.errstate(divide="ignore"):  # a miss rate of 0 gives log 0 = -inf and mMR = 0
        return float(np.exp(np.log(miss_rate[index]).mean()))


def evaluate(gt_records: Sequence[GtImage | dict], dt_records: Sequence[DtImage | dict],
             mr_reference: Sequence[float] = MR_REFERENCE_FPPI) -> dict:
    """Evaluate full-body detections against CrowdHuman ground truth.

    Args:
        gt_records (Sequence[GtImage | dict]): Ground-truth images in file order, parsed
            (:func:`~o2f_crowd.evaluation.load_odgt`) or raw odgt dicts.
        dt_records (Sequence[DtImage | dict]): Detection records, parsed or raw; any order, at most
            one per image; gt images without a record have no detections.
        mr_reference (Sequence[float]): The FPPI points of mMR: :data:`MR_REFERENCE_FPPI`
            (10^-2 .. 1, default) or :data:`MR_REFERENCE_FPPI_4` (10^-4 .. 1).

    Returns:
        dict: ``AP``, ``mMR``, ``Recall``, ``JI`` (floats in [0, 1]), ``JI_threshold`` (the score
        threshold of the best JI), ``JI_per_threshold`` (10 floats) and counts: ``num_images``,
        ``num_images_without_gt_boxes``, ``num_images_without_dt_record``,
        ``num_images_without_detections``, ``num_persons``, ``num_ignore_regions``,
        ``num_detections``,
        ``num_tp``, ``num_fp``, ``num_dropped``.

    Raises:
        OdgtFormatError: Malformed records, duplicate IDs, detection IDs absent from the gt, an
            image
            without a size, an empty gt or a gt without any person.
    """
    gt_images = _as_images(gt_records, parse_gt_record, "<gt records>")
    dt_images = _as_images(dt_records, parse_dt_record, "<dt records>")
    if not gt_images:
        raise OdgtFormatError("<gt records>", None, "there are no ground-truth images",
                              "evaluate against a non-empty annotation file")
    check_unique_ids(gt_images)
    check_unique_ids(dt_images)
    gt_ids = {gt.image_id for gt in gt_images}
    for dt in dt_images:
        if dt.image_id not in gt_ids:
            raise OdgtFormatError(
                dt.source, dt.line, f"image '{dt.image_id}' is not in the ground truth",
                "evaluate against the annotation file the detections were made for")
    num_persons = sum(len(gt.persons) for gt in gt_images)
    if num_persons == 0:
        raise OdgtFormatError(
            gt_images[0].source, None,
            f"none of the {len(gt_images)} ground-truth images has a 'person' box, so AP, mMR and "
            "Recall are undefined", "evaluate against an annotation file with person boxes")

    dt_by_id = {dt.image_id: dt for dt in dt_images}
    # Clipping, sorting and the IoU > 0.5 pairs of all images in padded batches; then everything
    # else on flat arrays with global indices (detections in image-then-score order, persons in
    # image-then-file order).
    (scores, dets_per_image, pair_det, pair_person, pair_iou, det_in_ignore,
     person_in_ignore) = _dataset_geometry(gt_images, dt_by_id)
    persons_per_image = np.array([len(gt.persons) for gt in gt_images], dtype=np.int64)
    pairs = EligiblePairs(pair_det, pair_person, pair_iou, scores.size, num_persons)
    det_image = np.repeat(np.arange(len(gt_images)), dets_per_image)
    person_image = np.repeat(np.arange(len(gt_images)), persons_per_image)

    # AP, mMR, Recall. Dropped detections leave the list; the stable sort keeps ties in image,
    # then per-image, order.
    is_matched = greedy_match_pairs(pairs) >= 0
    scored = is_matched | ~det_in_ignore
    order = np.argsort(-scores[scored], kind="stable")
    is_tp = is_matched[scored][order]
    tp = np.cumsum(is_tp, dtype=np.float64)
    fp = np.cumsum(~is_tp, dtype=np.float64)
    recall = tp / num_persons
    precision = tp / (tp + fp)

    # JI: per threshold, (k, m, n) per image from one dataset-wide maximum-weight matching.
    thresholds = np.array(JI_SCORE_THRESHOLDS)
    num_images = len(gt_images)
    matcher = MaxWeightMatcher(pairs)
    ji_means = []
    kept_masks = [scores > threshold for threshold in thresholds]
    for kept, (matched_det, matched_person) in zip(kept_masks, matcher.match_each(kept_masks),
                                                   strict=True):
        det_free, person_free = kept.copy(), np.ones(num_persons, dtype=bool)
        det_free[matched_det], person_free[matched_person] = False, False
        k = np.bincount(det_image[matched_det], minlength=num_images)
        n = np.bincount(det_image[kept & ~(det_free & det_in_ignore)], minlength=num_images)
        m = persons_per_image - np.bincount(person_image[person_free & person_in_ignore],
                                            minlength=num_images)
        ratios = k / (m + n - k + EPS)  # gt-file order, summed with np.sum as the reference
        num_counted = int(((n != 0) | (m != 0)).sum())
        ji_means.append(float(np.sum(ratios) / num_counted) if num_counted else 0.0)
    best = int(np.argmax(ji_means))  # the first best, as Python's max()

    has_dt = [gt.image_id in dt_by_id for gt in gt_images]
    return {
        "AP": _average_precision(recall, precision),
        "mMR": _log_average_miss_rate(fp / len(gt_images), 1.0 - recall,
                                      np.asarray(mr_reference, dtype=np.float64)),
        "Recall": float(recall[-1]) if recall.size else 0.0,
        "JI": ji_means[best],
        "JI_threshold": float(thresholds[best]),
        "JI_per_threshold": ji_means,
        "num_images": len(gt_images),
        "num_images_without_gt_boxes": sum(len(g.persons) + len(g.ignores) == 0 for g in gt_images),
        "num_images_without_dt_record": len(gt_images) - sum(has_dt),
        "num_images_without_detections": int((dets_per_image == 0).sum()),
        "num_persons": num_persons,
        "num_ignore_regions": sum(len(gt.ignores) for gt in gt_images),
        "num_detections": int(scores.size),
        "num_tp": int(is_tp.sum()),
        "num_fp": int((~is_tp).sum()),
        "num_dropped": int((~scored).sum()),
    }
