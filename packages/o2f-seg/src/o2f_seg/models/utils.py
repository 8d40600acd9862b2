"""Mask geometry used by the o2f CondInst heads: centres of mass and soft mask IoU."""

import torch
from torch import Tensor


def mask_centres_of_mass(masks: Tensor, boxes: Tensor, pixel_offset: float = 0.0) -> Tensor:
    """Centre of mass of each binary instance mask, in pixel coordinates.

    Pixel ``(row r, column c)`` sits at ``(c + pixel_offset, r + pixel_offset)``. The authors'
    code (and mmdet's CondInst) use the pixel index (``pixel_offset=0``); ``0.5`` is the pixel's
    geometric centre, the continuous frame of the xyxy boxes and of the prior points
    ``((j + 0.5) * s, (i + 0.5) * s)``. Padding with zeros leaves the result unchanged.

    Args:
        masks (Tensor): shape (num_gts, H, W), bool or float in {0, 1}.
        boxes (Tensor): shape (num_gts, 4), xyxy pixels; an empty mask (e.g. a degenerate
            polygon) falls back to its box centre.
        pixel_offset (float): position of a pixel's centre of mass inside it (0 or 0.5).

    Returns:
        Tensor: shape (num_gts, 2), float, xy of each centre.
    """
    height, width = masks.shape[-2:]
    # first moments from the column / row marginals: no float copy of the (M, H, W) masks
    column_mass = masks.sum(1).to(boxes.dtype)  # (num_gts, W)
    row_mass = masks.sum(2).to(boxes.dtype)  # (num_gts, H)
    area = column_mass.sum(1)  # (num_gts,)
    xs = torch.arange(width, dtype=boxes.dtype, device=boxes.device) + pixel_offset
    ys = torch.arange(height, dtype=boxes.dtype, device=boxes.device) + pixel_offset
    centre_x = column_mass @ xs / area.clamp(min=1)
    centre_y = row_mass @ ys / area.clamp(min=1)
    box_centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    return torch.where((area > 0)[:, None], torch.stack([centre_x, centre_y], 1), box_centres)


def soft_mask_iou(gt_masks: Tensor, mask_probs: Tensor, eps: float = 1e-6) -> Tensor:
    """Soft (probabilistic) IoU between every ground-truth mask and every predicted mask.

    ``IoU = sum(p * g) / sum(p + g - p * g)``. Unlike the IoU of thresholded masks it never
    drops to exactly 0 for an untrained mask head, so an object's candidates always keep a
    non-zero matching score (a zero IoU would leave the object with no positive at all).

    Args:
        gt_masks (Tensor): shape (num_gts, H, W), float in {0, 1}.
        mask_probs (Tensor): shape (num_masks, H, W), float in [0, 1].
        eps (float): lower bound of the union.

    Returns:
        Tensor: shape (num_gts, num_masks), float in [0, 1].
    """
    gt_flat = gt_masks.flatten(1).to(mask_probs.dtype)  # (num_gts, H*W)
    prob_flat = mask_probs.flatten(1)  # (num_masks, H*W)
    intersection = gt_flat @ prob_flat.T
    union = gt_flat.sum(1)[:, None] + prob_flat.sum(1)[None] - intersection
    return intersection / union.clamp(min=eps)
