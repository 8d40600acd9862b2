"""One-to-many assigners for the baselines (paper Table 5), mmdet ``TASK_UTILS`` plug-ins.

- ``QualityATSSAssigner``: DeFCN's auxiliary assignment (``get_aux_ground_truth``): ATSS with the
  matching quality ``p^(1-alpha) * IoU^alpha`` in place of the anchor IoU: per level the ``topk``
  points of best quality, positives those inside the box whose quality reaches mean + std
  (unbiased) of the object's candidates.
- ``QualityTopkAssigner``: per object the ``topk`` points of best quality inside its box.
- ``FCOSAssigner``: FCOS's rule (mmdet ``FCOSHead.get_targets``): inside the centre region
  (``center_radius`` strides around the box centre, clipped to the box) and the largest ltrb
  distance inside the level's regress range.

A point claimed by several objects goes to the best quality (ATSS, top-k; DeFCN's rule) or to the
smallest box (FCOS). All follow mmdet's ``assign(pred_instances, gt_instances,
gt_instances_ignore=None)`` and return hard labels (``AssignResult``; 1-based ``gt_inds``, -1 for
unlabelled points inside an ignore box). ``pred_instances``: ``priors`` (N, 4) (x, y, stride,
stride) or (N, 2) plus ``strides``; ``scores`` (N, C) probabilities and ``bboxes`` (N, 4) xyxy
(both unused by ``FCOSAssigner``).
"""

from __future__ import annotations

import torch
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor

from o2f_core.assigner import O2FAssigner, pairwise_iou, points_in_boxes, ranking_score

from .assigners import points_and_strides

__all__ = ['FCOSAssigner', 'QualityATSSAssigner', 'QualityTopkAssigner']

INF = 1e8  # mmdet FCOS's open upper regress range


def _positive_int(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{owner}: {name} must be a positive integer, got {value!r}')
    return value


def _unit_alpha(owner: str, alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 <= alpha <= 1:
        raise ValueError(f'{owner}: alpha must lie in [0, 1], got {alpha!r}')
    return float(alpha)


class _OneToManyAssigner(BaseAssigner):
    """Shared frame: positives (M, N) and a preference (M, N) that settles shared points."""

    def select(self, points: Tensor, strides: Tensor, scores: Tensor | None,
               pred_boxes: Tensor | None, gt_boxes: Tensor,
               gt_labels: Tensor) -> tuple[Tensor, Tensor]:
        """bool positives (M, N) and float preference (M, N), larger wins (override me)."""
        raise NotImplementedError

    @torch.no_grad()
    def assign(self, pred_instances: InstanceData, gt_instances: InstanceData,
               gt_instances_ignore: InstanceData | None = None, **kwargs) -> AssignResult:
        """Label the N points of one image (see the module docstring).

        Returns:
            AssignResult: ``gt_inds`` (N,) 1-based object, 0 negative, -1 ignored; ``labels``
            (N,) class or -1; ``max_overlaps`` (N,) IoU of the predicted box with its object
            (0 without predicted boxes or label).
        """
        points, strides = points_and_strides(pred_instances, type(self).__name__)
        points, strides = points.float(), strides.float()
        gt_boxes = get_box_tensor(gt_instances.bboxes).float()
        gt_labels = gt_instances.labels.long()
        scores = pred_instances.get('scores', None)
        pred_boxes = pred_instances.get('bboxes', None)
        pred_boxes = None if pred_boxes is None else get_box_tensor(pred_boxes).float()
        num_gts, num_points = gt_boxes.size(0), points.size(0)
        gt_inds = points.new_zeros(num_points, dtype=torch.long)
        labels = points.new_full((num_points,), -1, dtype=torch.long)
        overlaps = points.new_zeros(num_points)
        if num_gts and num_points:
            positive, preference = self.select(
                points, strides, None if scores is None else scores.float(), pred_boxes,
                gt_boxes, gt_labels)
            preference = preference.masked_fill(~positive, -torch.inf)
            best, best_gt = preference.max(dim=0)
            labelled = positive.any(dim=0)
            gt_inds = torch.where(labelled, best_gt + 1, gt_inds)
            labels = torch.where(labelled, gt_labels[best_gt], labels)
            if pred_boxes is not None:
                iou = pairwise_iou(gt_boxes, pred_boxes)
                overlaps = torch.where(labelled, iou[best_gt, torch.arange(num_points)], overlaps)
        if gt_instances_ignore is not None and 'bboxes' in gt_instances_ignore and num_points:
            ignore_boxes = get_box_tensor(gt_instances_ignore.bboxes).float()
            if ignore_boxes.numel():
                inside = points_in_boxes(points, ignore_boxes).any(dim=0)
                gt_inds = torch.where(inside & (gt_inds == 0), -1, gt_inds)
        return AssignResult(num_gts, gt_inds, overlaps, labels=labels)


class _QualityAssigner(_OneToManyAssigner):
    """Ranks by DeFCN's quality ``p^(1-alpha) * IoU^alpha`` (``p`` at the object's class)."""

    def __init__(self, topk: int = 9, alpha: float = 0.8) -> None:
        self.topk = _positive_int(type(self).__name__, 'topk', topk)
        self.alpha = _unit_alpha(type(self).__name__, alpha)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(topk={self.topk}, alpha={self.alpha})'

    def quality(self, scores: Tensor | None, pred_boxes: Tensor | None, gt_boxes: Tensor,
                gt_labels: Tensor) -> Tensor:
        """(M, N) quality of every (object, point) pair."""
        if scores is None or pred_boxes is None:
            raise ValueError(f'{type(self).__name__}: pred_instances needs scores (N, C) and '
                             f'bboxes (N, 4)')
        return ranking_score(scores[:, gt_labels].T, pairwise_iou(gt_boxes, pred_boxes),
                             self.alpha)


@TASK_UTILS.register_module()
class QualityATSSAssigner(_QualityAssigner):
    """DeFCN's auxiliary ATSS on the matching quality (DeFCN's defaults: topk 9, alpha 0.8).

    Args:
        topk (int): candidates per level and object (DeFCN's ``AUX_TOPK``).
        alpha (float): IoU exponent of the quality (DeFCN's ``POTO.ALPHA``).
    """

    def select(self, points, strides, scores, pred_boxes, gt_boxes, gt_labels):
        quality = self.quality(scores, pred_boxes, gt_boxes, gt_labels)          # (M, N)
        candidate = torch.zeros_like(quality, dtype=torch.bool)
        start = 0
        # FPN levels are contiguous runs of one stride (finest first)
        for count in torch.unique_consecutive(strides, return_counts=True)[1].tolist():
            top = quality[:, start:start + count].topk(min(self.topk, count), dim=1).indices
            candidate.scatter_(1, start + top, True)
            start += count
        values = quality.masked_fill(~candidate, torch.nan)
        mean = values.nanmean(dim=1, keepdim=True)
        count = candidate.sum(dim=1, keepdim=True)
        # unbiased std (torch.std's default, as DeFCN)
        std = ((values - mean).pow(2).nansum(dim=1, keepdim=True) / (count - 1)).sqrt()
        positive = candidate & (quality >= mean + std) & points_in_boxes(points, gt_boxes)
        return positive, quality


@TASK_UTILS.register_module()
class QualityTopkAssigner(_QualityAssigner):
    """Per object the ``topk`` points of best quality inside its box (all levels together).

    Args:
        topk (int): positives per object (at most its points inside the box).
        alpha (float): IoU exponent of the quality.
    """

    def select(self, points, strides, scores, pred_boxes, gt_boxes, gt_labels):
        quality = self.quality(scores, pred_boxes, gt_boxes, gt_labels)
        inside = points_in_boxes(points, gt_boxes)
        ranked = quality.masked_fill(~inside, -1.0)  # quality >= 0 inside
        top = ranked.topk(min(self.topk, ranked.size(1)), dim=1).indices
        positive = torch.zeros_like(inside).scatter_(1, top, True) & inside
        return positive, quality


@TASK_UTILS.register_module()
class FCOSAssigner(_OneToManyAssigner):
    """FCOS's one-to-many rule (mmdet's FCOS targets with centre sampling) on point priors.

    Args:
        center_radius (float): half-side of the centre region in strides (FCOS: 1.5).
        regress_ranges (sequence of (low, high), optional): per FPN level, finest first, the range
            of the largest ltrb distance; None: mmdet's ``(-1, 64), (64, 128), ...`` (upper bound
            8 strides, the last one open).
    """

    def __init__(self, center_radius: float = 1.5,
                 regress_ranges: tuple[tuple[float, float], ...] | None = None) -> None:
        # the centre region of the o2f / POTO candidates (one implementation of the rule)
        self.region = O2FAssigner(num_ambiguous=0, center_radius=center_radius)
        self.center_radius = float(center_radius)
        self.regress_ranges = None if regress_ranges is None else \
            tuple((float(low), float(high)) for low, high in regress_ranges)

    def __repr__(self) -> str:
        return (f'FCOSAssigner(center_radius={self.center_radius}, '
                f'regress_ranges={self.regress_ranges})')

    def level_ranges(self, strides: Tensor) -> Tensor:
        """(N, 2) regress range of every point, from its level (the rank of its stride)."""
        level_strides, level = torch.unique(strides, sorted=True, return_inverse=True)
        ranges = self.regress_ranges
        if ranges is None:
            highs = [8 * s for s in level_strides.tolist()[:-1]] + [INF]
            ranges = tuple(zip([-1.0, *highs[:-1]], highs, strict=True))
        if len(ranges) != len(level_strides):
            raise ValueError(f'FCOSAssigner: regress_ranges has {len(ranges)} levels but the '
                             f'head has {len(level_strides)} (strides '
                             f'{[int(s) for s in level_strides.tolist()]}); give one (low, '
                             f'high) per level')
        return strides.new_tensor(ranges)[level]

    def select(self, points, strides, scores, pred_boxes, gt_boxes, gt_labels):
        centers = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
        in_region = self.region.candidate_mask(points, strides, gt_boxes, centers)  # (M, N)
        ltrb = torch.stack([points[None, :, 0] - gt_boxes[:, None, 0],
                            points[None, :, 1] - gt_boxes[:, None, 1],
                            gt_boxes[:, None, 2] - points[None, :, 0],
                            gt_boxes[:, None, 3] - points[None, :, 1]], dim=-1)
        largest = ltrb.amax(dim=-1)
        ranges = self.level_ranges(strides)
        in_range = (largest >= ranges[None, :, 0]) & (largest <= ranges[None, :, 1])
        area = (gt_boxes[:, 2:] - gt_boxes[:, :2]).prod(dim=-1)
        # FCOS: a point inside several objects regresses the smallest
        return in_region & in_range, (-area)[:, None].expand_as(largest)
