"""POTO one-to-one baseline (DeFCN, Wang et al. 2021) on the o2f head's loss path.

Simplifications versus DeFCN, stated on purpose: no 3D max filter and no auxiliary one-to-many
loss; the classification loss is the o2f soft focal loss with only the matched point positive
(target 1, weight 1) and the box loss is the same GIoU term (uniform weights in our config).
"""

from __future__ import annotations

import numpy as np
import torch
from mmdet.registry import MODELS
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from o2f_core import O2FAssigner, O2FAssignResult
from o2f_core.assigner import pairwise_iou, points_in_boxes

from .o2f_head import O2FHead

# Quality given to (object, point) pairs outside the centre region: below any real quality
# (>= 0), so the Hungarian solver takes them only when an object has no candidate left.
NOT_A_CANDIDATE = -1.0


class POTOAssigner:
    """Hungarian one-to-one matching on ``p^(1 - alpha) * IoU^alpha`` inside the centre region.

    Args:
        alpha (float): IoU exponent of the matching quality (DeFCN: 0.8).
        center_radius (float): half-side of the candidate square in strides (1.5).
    """

    def __init__(self, alpha: float = 0.8, center_radius: float = 1.5) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'POTOAssigner: alpha must lie in [0, 1], got {alpha}')
        self.alpha = float(alpha)
        # Same candidate rule as o2f (centre square clipped to the box) via the core's function.
        self._region = O2FAssigner(num_ambiguous=0, alpha=alpha, center_radius=center_radius)
        self.center_radius = float(center_radius)

    def __repr__(self) -> str:
        return f'POTOAssigner(alpha={self.alpha}, center_radius={self.center_radius})'

    def matching_quality(self, scores: Tensor, pred_boxes: Tensor, points: Tensor,
                         strides: Tensor, gt_boxes: Tensor, gt_labels: Tensor,
                         gt_centers: Tensor | None = None) -> Tensor:
        """(M, N) quality ``p^(1-alpha) * IoU^alpha``; :data:`NOT_A_CANDIDATE` outside the region.

        Args:
            scores (Tensor): (N, C) joint probabilities; pred_boxes (Tensor): (N, 4) xyxy.
            points (Tensor): (N, 2); strides (Tensor): (N,).
            gt_boxes (Tensor): (M, 4) xyxy; gt_labels (Tensor): (M,) long.
            gt_centers (Tensor, optional): (M, 2); box centres when None.
        """
        if gt_centers is None:
            gt_centers = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
        candidates = self._region.candidate_mask(points, strides, gt_boxes, gt_centers)
        prob = scores[:, gt_labels].T                                       # (M, N)
        iou = pairwise_iou(gt_boxes, pred_boxes)                            # (M, N)
        quality = prob.pow(1 - self.alpha) * iou.pow(self.alpha)
        return torch.where(candidates, quality, quality.new_full((), NOT_A_CANDIDATE))

    @torch.no_grad()
    def assign(self, scores: Tensor, pred_boxes: Tensor, points: Tensor, strides: Tensor,
               gt_boxes: Tensor, gt_labels: Tensor, temperature: float | None = None,
               gt_centers: Tensor | None = None, ignore_boxes: Tensor | None = None,
               quality: Tensor | None = None) -> O2FAssignResult:
        """Label one image: each object's matched point is a certain positive, the rest negative.

        Same signature and result type as ``O2FAssigner.assign`` (``temperature`` is unused).
        An object whose match falls outside its centre region (no candidate left) gets no point.

        Returns:
            O2FAssignResult: ``soft_targets``/``weights`` 1 and ``certain`` True on matched points.
        """
        num_points, num_gts = scores.shape[0], gt_boxes.shape[0]
        device = scores.device
        result = O2FAssignResult.all_negative(num_points, device)
        if num_gts > 0 and num_points > 0:
            gt_boxes = gt_boxes.float()
            if quality is None:
                quality = self.matching_quality(scores.float(), pred_boxes.float(),
                                                points.float(), strides.float(), gt_boxes,
                                                gt_labels.long(), gt_centers)
            # Only points that are a candidate of some object can be matched: solving on those
            # columns gives the same matching (every other column costs every object the same
            # NOT_A_CANDIDATE) on a far smaller matrix. scipy solves on the CPU.
            columns = (quality > NOT_A_CANDIDATE).any(dim=0).nonzero(as_tuple=True)[0]
            if columns.numel() > 0:
                cost = quality[:, columns].detach().cpu().double().numpy()
                gt_idx, col_idx = linear_sum_assignment(cost, maximize=True)
                valid = cost[gt_idx, col_idx] > NOT_A_CANDIDATE
                gt_idx = torch.from_numpy(np.ascontiguousarray(gt_idx[valid])).to(device)
                point_idx = columns[torch.from_numpy(np.ascontiguousarray(col_idx[valid]))
                                    .to(device)]
                result.assigned_gt[point_idx] = gt_idx
                result.labels[point_idx] = gt_labels.to(device).long()[gt_idx]
                result.soft_targets[point_idx] = 1.0
                result.weights[point_idx] = 1.0
                result.certain[point_idx] = True
        if ignore_boxes is not None and ignore_boxes.numel() and num_points:
            inside = points_in_boxes(points.float(), ignore_boxes.float()).any(dim=0)
            result.ignored = inside & ~result.labelled
        return result


@MODELS.register_module()
class POTOHead(O2FHead):
    """FCOS head trained with POTO one-to-one assignment (DeFCN baseline, no NMS at test).

    ``train_cfg.assigner`` takes ``POTOAssigner`` kwargs (alpha, center_radius); the loss and the
    NMS-free inference are O2FHead's. T is unused (a one-to-one target is always 1).
    """

    def build_assigner(self, assigner_cfg: dict) -> POTOAssigner:
        return POTOAssigner(**assigner_cfg)
