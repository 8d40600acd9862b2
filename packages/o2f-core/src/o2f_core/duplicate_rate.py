"""Duplicate rate: how often a detector reports an object it has already reported.

Among the detections scoring at least ``score_thr``, taken in descending score order, a detection
is a *duplicate* when every ground-truth object of its class that it overlaps with IoU >=
``iou_thr`` has already been matched by a higher-scoring detection. Otherwise it either matches
the unmatched object it overlaps most (a true positive, as in COCO's greedy matching) or overlaps
no object of its class (a plain false positive, not a duplicate). The rate is duplicates divided
by the detections above the threshold: 0 for a perfect NMS-free detector, and what NMS removes
for a one-to-many detector.

Boxes are ``xyxy`` pixels with area ``(x2 - x1) * (y2 - y1)`` (no +1). Counts, not rates, are
summed over images, so a dataset's rate is ``sum(duplicates) / sum(detections)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_SCORE_THR = 0.3
DEFAULT_IOU_THR = 0.5


@dataclass(frozen=True)
class DuplicateCount:
    """Detections above the score threshold and how many of them are duplicates."""

    num_detections: int = 0
    num_duplicates: int = 0

    def __add__(self, other: DuplicateCount) -> DuplicateCount:
        return DuplicateCount(self.num_detections + other.num_detections,
                              self.num_duplicates + other.num_duplicates)

    @property
    def rate(self) -> float:
        """Duplicates / detections above the threshold (0.0 when there is none)."""
        return self.num_duplicates / self.num_detections if self.num_detections else 0.0


def pairwise_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU of every pair. boxes_a (A, 4), boxes_b (B, 4) xyxy -> (A, B) float64."""
    boxes_a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    boxes_b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    top_left = np.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])
    bottom_right = np.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(-1)
    area_a = np.clip(boxes_a[:, 2:] - boxes_a[:, :2], 0, None).prod(-1)
    area_b = np.clip(boxes_b[:, 2:] - boxes_b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def count_duplicates(det_boxes, det_scores, det_labels, gt_boxes, gt_labels,
                     score_thr: float = DEFAULT_SCORE_THR,
                     iou_thr: float = DEFAULT_IOU_THR) -> DuplicateCount:
    """Duplicates among one image's detections.

    Args:
        det_boxes: (D, 4) xyxy. det_scores: (D,). det_labels: (D,) int.
        gt_boxes: (G, 4) xyxy. gt_labels: (G,) int.
        score_thr: detections scoring below it are not counted.
        iou_thr: a detection overlaps an object when IoU >= iou_thr (same class only).

    Returns:
        DuplicateCount: detections above ``score_thr`` and duplicates among them. Equal scores are
        taken in input order (stable sort).
    """
    det_scores = np.asarray(det_scores, dtype=np.float64).reshape(-1)
    det_labels = np.asarray(det_labels).reshape(-1)
    gt_labels = np.asarray(gt_labels).reshape(-1)
    keep = np.flatnonzero(det_scores >= score_thr)
    order = keep[np.argsort(-det_scores[keep], kind='stable')]
    if order.size == 0 or gt_labels.size == 0:
        return DuplicateCount(int(order.size), 0)
    iou = pairwise_iou(np.asarray(det_boxes)[order], gt_boxes)  # (D', G)
    overlaps = (iou >= iou_thr) & (det_labels[order][:, None] == gt_labels[None, :])
    matched = np.zeros(gt_labels.size, dtype=bool)
    duplicates = 0
    # Greedy in score order: each detection's outcome depends on the ones before it.
    for row in range(order.size):
        hits = overlaps[row]
        if not hits.any():
            continue
        free = hits & ~matched
        if free.any():
            matched[np.flatnonzero(free)[np.argmax(iou[row][free])]] = True
        else:
            duplicates += 1
    return DuplicateCount(int(order.size), duplicates)
