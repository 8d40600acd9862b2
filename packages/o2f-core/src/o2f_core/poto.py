"""POTO one-to-one assignment (DeFCN, Wang et al. 2021), pure torch plus scipy's Hungarian solver.

Per image: the quality ``p^(1-alpha) * IoU^alpha`` (or the additive ranking, paper Table 4) of
every (object, point) pair inside the object's centre region (the o2f candidate rule), then the
one-to-one matching of largest total quality. Each matched point is a certain positive; every
other point is negative. Simplifications versus DeFCN, on purpose: no 3D max filter, no auxiliary
one-to-many loss. scipy is imported when an image is matched, so importing o2f_core stays light.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .assigner import (
                       RANKINGS,
                       O2FAssigner,
                       O2FAssignResult,
                       pairwise_iou,
                       points_in_boxes,
                       ranking_score,
)

__all__ = ["POTOAssigner", "NOT_A_CANDIDATE", "hungarian_match"]

# Quality given to (object, point) pairs outside the centre region: below any real quality
# (>= 0), so the Hungarian solver takes them only when an object has no candidate left.
NOT_A_CANDIDATE = -1.0


class POTOAssigner:
    """Hungarian one-to-one matching on the ranking score inside the centre region.

    Args:
        alpha (float): IoU exponent (or weight, ``ranking='add'``) of the quality (DeFCN: 0.8).
        center_radius (float): half-side of the candidate square in strides (1.5).
        ranking (str): ``'multiply'`` or ``'add'``, as :class:`o2f_core.O2FAssigner`.
    """

    def __init__(self, alpha: float = 0.8, center_radius: float = 1.5,
                 ranking: str = "multiply") -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"POTOAssigner: alpha must lie in [0, 1], got {alpha}")
        if ranking not in RANKINGS:
            raise ValueError(f"POTOAssigner: ranking must be one of {RANKINGS}, got {ranking!r}")
        self.alpha = float(alpha)
        self.ranking = ranking
        # Same candidate rule as o2f (centre square clipped to the box) via the core's function.
        self._region = O2FAssigner(num_ambiguous=0, alpha=alpha, center_radius=center_radius)
        self.center_radius = float(center_radius)

    def __repr__(self) -> str:
        return (f"POTOAssigner(alpha={self.alpha}, center_radius={self.center_radius}, "
                f"ranking={self.ranking!r})")

    def candidate_mask(self, points: Tensor, strides: Tensor, gt_boxes: Tensor,
                       gt_centers: Tensor) -> Tensor:
        """bool (num_gts, num_points): the o2f candidate squares (see ``O2FAssigner``)."""
        return self._region.candidate_mask(points, strides, gt_boxes, gt_centers)

    def matching_quality(self, scores: Tensor, pred_boxes: Tensor, points: Tensor,
                         strides: Tensor, gt_boxes: Tensor, gt_labels: Tensor,
                         gt_centers: Tensor | None = None,
                         overlap: Tensor | None = None) -> Tensor:
        """(M, N) ranking score of every pair; :data:`NOT_A_CANDIDATE` outside the region.

        Args:
            scores (Tensor): (N, C) joint probabilities; pred_boxes (Tensor): (N, 4) xyxy.
            points (Tensor): (N, 2); strides (Tensor): (N,).
            gt_boxes (Tensor): (M, 4) xyxy; gt_labels (Tensor): (M,) long.
            gt_centers (Tensor, optional): (M, 2); box centres when None.
            overlap (Tensor, optional): (M, N) replaces the box IoU (e.g. a mask IoU).
        """
        if gt_centers is None:
            gt_centers = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
        candidates = self.candidate_mask(points, strides, gt_boxes, gt_centers)
        prob = scores[:, gt_labels].T                                       # (M, N)
        if overlap is None:
            overlap = pairwise_iou(gt_boxes, pred_boxes)                    # (M, N)
        quality = ranking_score(prob, overlap, self.alpha, self.ranking)
        return torch.where(candidates, quality, quality.new_full((), NOT_A_CANDIDATE))

    @torch.no_grad()
    def assign(self, scores: Tensor, pred_boxes: Tensor, points: Tensor, strides: Tensor,
               gt_boxes: Tensor, gt_labels: Tensor, temperature: float | None = None,
               gt_centers: Tensor | None = None, ignore_boxes: Tensor | None = None,
               quality: Tensor | None = None) -> O2FAssignResult:
        """Label one image: each object's matched point is a certain positive, the rest negative.

        Same signature, argument meanings and result type as ``O2FAssigner.assign``:
        ``quality`` (M, N) replaces the box IoU in the matching score (e.g. a mask IoU);
        ``temperature`` is unused (a one-to-one target is always 1). An object whose match
        falls outside its centre region (no candidate left) gets no point.

        Returns:
            O2FAssignResult: ``soft_targets``/``weights`` 1 and ``certain`` True on matched points.
        """
        num_points, num_gts = scores.shape[0], gt_boxes.shape[0]
        device = scores.device
        result = O2FAssignResult.all_negative(num_points, device)
        if num_gts > 0 and num_points > 0:
            matrix = self.matching_quality(
                scores.float(), pred_boxes.float(), points.float(), strides.float(),
                gt_boxes.float(), gt_labels.long(), gt_centers,
                None if quality is None else quality.float())
            gt_idx, point_idx = hungarian_match(matrix)
            result.assigned_gt[point_idx] = gt_idx
            result.labels[point_idx] = gt_labels.to(device).long()[gt_idx]
            result.soft_targets[point_idx] = 1.0
            result.weights[point_idx] = 1.0
            result.certain[point_idx] = True
        if ignore_boxes is not None and ignore_boxes.numel() and num_points:
            inside = points_in_boxes(points.float(), ignore_boxes.float()).any(dim=0)
            result.ignored = inside & ~result.labelled
        return result


def hungarian_match(matrix: Tensor) -> tuple[Tensor, Tensor]:
    """The one-to-one matching of largest total score; pairs <= NOT_A_CANDIDATE are never kept.

    Args:
        matrix (Tensor): (M, N) matching scores, :data:`NOT_A_CANDIDATE` outside the regions.

    Returns:
        tuple[Tensor, Tensor]: matched object indices and point indices, each (K,) long, K <= M,
        on the matrix's device.
    """
    from scipy.optimize import linear_sum_assignment

    device = matrix.device
    # Only points that are a candidate of some object can be matched: solving on those columns
    # gives the same matching (every other column costs every object the same NOT_A_CANDIDATE) on
    # a far smaller matrix. scipy solves on the CPU.
    columns = (matrix > NOT_A_CANDIDATE).any(dim=0).nonzero(as_tuple=True)[0]
    if columns.numel() == 0:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty
    cost = matrix[:, columns].detach().cpu().double().numpy()
    gt_idx, col_idx = linear_sum_assignment(cost, maximize=True)
    valid = cost[gt_idx, col_idx] > NOT_A_CANDIDATE
    gt_idx = torch.from_numpy(np.ascontiguousarray(gt_idx[valid])).to(device)
    point_idx = columns[torch.from_numpy(np.ascontiguousarray(col_idx[valid])).to(device)]
    return gt_idx, point_idx
