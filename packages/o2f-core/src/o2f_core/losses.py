"""The o2f losses (paper Eq. 4-5) as unnormalised sums over one image, on the joint probability.

Heads normalise them: the classification sum by max(#labelled points in the batch, 1), the box sum
by the sum of box weights in the batch, both averaged over processes under DDP. Imports only torch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .assigner import O2FAssignResult

__all__ = ["classification_loss", "box_loss", "binary_cross_entropy", "generalized_iou",
           "centerness"]

LOG_CLAMP = -100.0  # torch's BCE clamps its logs at -100; we match it (the official loss uses it)
GIOU_EPS = 1e-6


def binary_cross_entropy(prob: Tensor, target: Tensor) -> Tensor:
    """Elementwise BCE on probabilities, logs clamped at -100 exactly like torch's BCE.

    Written out because ``F.binary_cross_entropy`` refuses to run under autocast.
    """
    log_p = torch.log(prob).clamp(min=LOG_CLAMP)
    log_not_p = torch.log1p(-prob).clamp(min=LOG_CLAMP)
    return -(target * log_p + (1 - target) * log_not_p)


def classification_loss(scores: Tensor, result: O2FAssignResult, negative_weight: float = 0.75,
                        gamma: float = 2.0) -> Tensor:
    """Soft focal loss of one image, summed over all (point, class) entries.

    The entry of a labelled point at its object's class costs ``w * BCE(p, t)`` (t = 1 certain, t
    = soft target ambiguous; w = its weight); every other entry is a negative costing
    ``negative_weight * p^gamma * BCE(p, 0)``; rows of ignored points cost nothing.

    Args:
        scores (Tensor): (N, C) joint probabilities, any float dtype (computed in float32).
        result (O2FAssignResult): the assignment of these N points.
        negative_weight (float): focal weight of negatives (1 - focal alpha 0.25).
        gamma (float): focal exponent.

    Returns:
        Tensor: scalar float32 sum, differentiable w.r.t. ``scores``.
    """
    prob = scores.float()
    negative = (negative_weight * prob.pow(gamma)
                * binary_cross_entropy(prob, torch.zeros_like(prob)))
    negative = negative * (~result.ignored).to(prob.dtype)[:, None]
    labelled = result.labelled.nonzero(as_tuple=True)[0]
    if labelled.numel() == 0:
        return negative.sum()
    classes = result.labels[labelled]
    prob_labelled = prob[labelled, classes]
    positive = result.weights[labelled] * binary_cross_entropy(
        prob_labelled, result.soft_targets[labelled].to(prob.dtype))
    # The labelled entries replace their negative term rather than adding to it.
    return negative.sum() - negative[labelled, classes].sum() + positive.sum()


def generalized_iou(boxes: Tensor, targets: Tensor, eps: float = GIOU_EPS) -> Tensor:
    """GIoU (K,) of aligned xyxy box pairs; union and enclosing area clamped to ``eps``."""
    top_left = torch.maximum(boxes[:, :2], targets[:, :2])
    bottom_right = torch.minimum(boxes[:, 2:], targets[:, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=-1)
    area = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(dim=-1)
    target_area = (targets[:, 2:] - targets[:, :2]).clamp(min=0).prod(dim=-1)
    union = (area + target_area - inter).clamp(min=eps)
    enclose = (torch.maximum(boxes[:, 2:], targets[:, 2:])
               - torch.minimum(boxes[:, :2], targets[:, :2])).clamp(min=0).prod(dim=-1)
    enclose = enclose.clamp(min=eps)
    return inter / union - (enclose - union) / enclose


def centerness(points: Tensor, targets: Tensor) -> Tensor:
    """FCOS centerness (K,) of points w.r.t. their target boxes (xyxy).

    ``sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))``; 0 for a point on or outside an edge.
    """
    left_right = torch.stack([points[:, 0] - targets[:, 0], targets[:, 2] - points[:, 0]], dim=1)
    top_bottom = torch.stack([points[:, 1] - targets[:, 1], targets[:, 3] - points[:, 1]], dim=1)
    left_right, top_bottom = left_right.clamp(min=0), top_bottom.clamp(min=0)
    tiny = torch.finfo(left_right.dtype).tiny
    ratio = (left_right.min(dim=1).values / left_right.max(dim=1).values.clamp(min=tiny)
             * top_bottom.min(dim=1).values / top_bottom.max(dim=1).values.clamp(min=tiny))
    return ratio.sqrt()


def box_loss(pred_boxes: Tensor, gt_boxes: Tensor, points: Tensor, result: O2FAssignResult,
             centerness_weighting: bool = True, eps: float = GIOU_EPS) -> tuple[Tensor, Tensor]:
    """GIoU loss of one image over all labelled points (certain and ambiguous).

    Each labelled point i is weighted by ``w_i``: the FCOS centerness of its target box seen from
    the point (official), or 1.0 with ``centerness_weighting=False``. The ambiguous weight of the
    assignment does not apply here (as in the official code).

    Args:
        pred_boxes (Tensor): (N, 4) predicted boxes, xyxy pixels.
        gt_boxes (Tensor): (M, 4) object boxes, xyxy pixels.
        points (Tensor): (N, 2) point locations.
        result (O2FAssignResult): the assignment of these N points.
        centerness_weighting (bool): weight by the target's centerness (True) or uniformly.
        eps (float): clamp of the GIoU's union and enclosing area.

    Returns:
        tuple[Tensor, Tensor]: ``sum_i w_i * (1 - GIoU_i)`` (differentiable) and ``sum_i w_i``
        (no gradient), both float32 scalars. With no labelled point: an exact 0 that still carries
        a gradient path to ``pred_boxes``, and 0.
    """
    labelled = result.labelled.nonzero(as_tuple=True)[0]
    if labelled.numel() == 0:
        return pred_boxes.float().sum() * 0, pred_boxes.new_zeros((), dtype=torch.float32)
    boxes = pred_boxes[labelled].float()
    targets = gt_boxes[result.assigned_gt[labelled]].float()
    if centerness_weighting:
        weights = centerness(points[labelled].float(), targets)
    else:
        weights = torch.ones_like(boxes[:, 0])
    loss = (weights * (1 - generalized_iou(boxes, targets, eps=eps))).sum()
    return loss, weights.sum().detach()
