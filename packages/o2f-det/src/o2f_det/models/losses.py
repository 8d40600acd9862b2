"""The o2f losses as mmdet ``MODELS`` plug-ins: thin wrappers over :mod:`o2f_core.losses`.

``model.bbox_head.loss_cls = dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0,
loss_weight=1.0)`` and ``model.bbox_head.loss_bbox = dict(type='O2FGIoULoss',
centerness_weighting=True, loss_weight=2.0)`` (the official code's values, also the defaults).
Both return per-image sums times ``loss_weight``; the head normalises over the batch.
"""

from __future__ import annotations

from mmdet.registry import MODELS
from torch import Tensor, nn

from o2f_core import O2FAssignResult
from o2f_core.losses import GIOU_EPS, box_loss, classification_loss

__all__ = ['O2FSoftFocalLoss', 'O2FGIoULoss']


@MODELS.register_module()
class O2FSoftFocalLoss(nn.Module):
    """Soft focal loss on the joint probability (paper Eq. 4), summed over one image.

    Args:
        negative_weight (float): focal weight of the negatives (1 - focal alpha 0.25).
        gamma (float): focal exponent of the negatives.
        loss_weight (float): scales the loss.
        use_sigmoid (bool): must be True (mmdet's heads read it to size the class output: one
            sigmoid channel per class, no background channel).
    """

    def __init__(self, negative_weight: float = 0.75, gamma: float = 2.0,
                 loss_weight: float = 1.0, use_sigmoid: bool = True) -> None:
        super().__init__()
        if not use_sigmoid:
            raise ValueError('O2FSoftFocalLoss: use_sigmoid must be True (the loss is on '
                             'per-class sigmoid probabilities)')
        self.use_sigmoid = True
        self.negative_weight = float(negative_weight)
        self.gamma = float(gamma)
        self.loss_weight = float(loss_weight)

    def extra_repr(self) -> str:
        return (f'negative_weight={self.negative_weight}, gamma={self.gamma}, '
                f'loss_weight={self.loss_weight}')

    def forward(self, scores: Tensor, assign_result: O2FAssignResult) -> Tensor:
        """``loss_weight`` times the image's summed soft focal loss.

        Args:
            scores (Tensor): (N, C) joint probabilities of one image.
            assign_result (O2FAssignResult): its labels.

        Returns:
            Tensor: float32 scalar (not normalised).
        """
        return self.loss_weight * classification_loss(
            scores, assign_result, negative_weight=self.negative_weight, gamma=self.gamma)


@MODELS.register_module()
class O2FGIoULoss(nn.Module):
    """GIoU loss on every labelled point (paper Eq. 5), summed over one image.

    Args:
        centerness_weighting (bool): weight each term by the FCOS centerness of its target seen
            from the point (official) or uniformly (DeFCN/POTO).
        loss_weight (float): scales the loss (official 2.0).
        eps (float): clamp of the GIoU's union and enclosing area.
    """

    def __init__(self, centerness_weighting: bool = True, loss_weight: float = 2.0,
                 eps: float = GIOU_EPS) -> None:
        super().__init__()
        self.centerness_weighting = bool(centerness_weighting)
        self.loss_weight = float(loss_weight)
        self.eps = float(eps)

    def extra_repr(self) -> str:
        return (f'centerness_weighting={self.centerness_weighting}, '
                f'loss_weight={self.loss_weight}, eps={self.eps}')

    def forward(self, pred_boxes: Tensor, gt_boxes: Tensor, points: Tensor,
                assign_result: O2FAssignResult) -> tuple[Tensor, Tensor]:
        """``loss_weight * sum_i w_i (1 - GIoU_i)`` and ``sum_i w_i`` of one image.

        Args:
            pred_boxes (Tensor): (N, 4) xyxy; gt_boxes (Tensor): (M, 4); points (Tensor): (N, 2).
            assign_result (O2FAssignResult): the labels of these N points.

        Returns:
            tuple[Tensor, Tensor]: the weighted sum (differentiable) and the weight sum (no
            gradient; the head's normaliser), both float32 scalars.
        """
        loss, weight_sum = box_loss(pred_boxes, gt_boxes, points, assign_result,
                                    centerness_weighting=self.centerness_weighting, eps=self.eps)
        return self.loss_weight * loss, weight_sum
