"""CondInst mask head trained on the certain and ambiguous anchors of the o2f assignment."""

import torch
from mmdet.models.dense_heads import CondInstMaskHead
from mmdet.registry import MODELS
from mmdet.structures.mask import BaseInstanceMasks
from mmdet.utils import InstanceList, reduce_mean
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils import soft_mask_iou

MASK_WEIGHTINGS = ('soft_target', 'assign_weight', 'uniform')


@MODELS.register_module()
class O2FCondInstMaskHead(CondInstMaskHead):
    """CondInst dynamic mask head for the one-to-few box head (:class:`O2FCondInstBboxHead`).

    Differences from :class:`CondInstMaskHead`:

    * **Which anchors train a mask.** The box head hands over every labelled anchor of the
      o2f assignment: each object's certain positive and its ambiguous anchors (not the whole
      centre region, as one-to-many CondInst does). Each carries ``certain`` (bool),
      ``soft_targets`` (1 for the certain one, ``t`` in (0, T] for an ambiguous one) and
      ``assign_weights`` (its classification-loss weight).
    * **Dice weighting** (``mask_weighting``): each anchor's dice loss is multiplied by a
      weight ``w`` and the sum is divided by ``sum(w)`` over the batch (averaged over ranks).

      - ``'soft_target'`` (default): ``w = 1`` for the certain anchor and ``w = t`` for an
        ambiguous one. The certain anchor is re-chosen at every step among these same
        anchors, and any of them may rank first at test time (no NMS), so each needs a
        usable mask, in proportion to how strongly the assigner ties it to the object: its
        soft target ``t``, which also decays with T (0.6 -> 0.2) like its classification
        target. Ambiguous anchors thus add mask supervision without outweighing the
        certain one.
      - ``'assign_weight'``: the classification weight (1 / ``ambiguous_weight``).
      - ``'uniform'``: every labelled anchor weighs 1 (CondInst's plain average).
    * **Bounded memory** (``max_masks_to_train``): the cap is applied *before* the dynamic
      convolutions run, so at most that many masks per image are ever computed in training.
      When an image has more labelled anchors, the certain positives are kept first, then
      the ambiguous ones with the largest soft targets (deterministic; CondInst draws a
      random subset after computing every mask).

    ``forward`` also accepts precomputed mask features, so :class:`O2FCondInst` can reuse
    the features it already ran for mask-IoU matching.

    Args:
        mask_weighting (str): one of ``'soft_target'``, ``'assign_weight'``, ``'uniform'``.
        candidate_chunk (int): masks computed at once when scoring matching candidates
            (:meth:`candidate_mask_iou`); bounds the memory of mask-IoU matching.
        **kwargs: arguments of :class:`CondInstMaskHead`. ``topk_masks_per_img`` must stay -1:
            its per-object selection ranks by one-to-many scores and is replaced by the cap.
    """

    def __init__(self, *args, mask_weighting: str = 'soft_target', candidate_chunk: int = 256,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if mask_weighting not in MASK_WEIGHTINGS:
            raise ValueError(f'mask_weighting must be one of {MASK_WEIGHTINGS}, '
                             f'got {mask_weighting!r}')
        if self.topk_masks_per_img != -1:
            raise ValueError('O2FCondInstMaskHead selects masks with max_masks_to_train; '
                             'topk_masks_per_img must be -1')
        self.mask_weighting = mask_weighting
        self.candidate_chunk = candidate_chunk

    def forward(self, x: tuple | Tensor, positive_infos: InstanceList) -> tuple:
        """Dynamic masks of the given anchors.

        Args:
            x (tuple[Tensor] | Tensor): FPN features, each (B, C, H_i, W_i), or the mask
                features already computed by ``self.mask_feature_head``, (B, C_mask, H, W).
            positive_infos (list[InstanceData]): per image, ``param_preds``
                (num_pos, num_params), ``points`` (num_pos, 2), ``strides`` (num_pos,).

        Returns:
            tuple[list[Tensor]]: per image, mask logits (num_pos, H_out, W_out) at
            ``mask_out_stride``.
        """
        mask_feats = x if isinstance(x, Tensor) else self.mask_feature_head(x)
        return ([self.forward_single(mask_feat, info)[0]
                 for mask_feat, info in zip(mask_feats, positive_infos)],)

    def select_positives(self, positive_info: InstanceData) -> InstanceData:
        """Keep at most ``max_masks_to_train`` labelled anchors: certain ones first.

        Args:
            positive_info (InstanceData): one image's labelled anchors, with ``certain``
                (num_pos,) bool and ``soft_targets`` (num_pos,) float among its fields.

        Returns:
            InstanceData: the kept rows, in the original order.
        """
        num_pos = len(positive_info)
        if self.max_masks_to_train == -1 or num_pos <= self.max_masks_to_train:
            return positive_info
        # soft targets are <= 1, so +2 puts every certain anchor ahead of every ambiguous one
        priority = positive_info.soft_targets + 2.0 * positive_info.certain.float()
        keep = priority.topk(self.max_masks_to_train).indices.sort().values
        return positive_info[keep]

    def loss(self, x: tuple | Tensor, batch_data_samples: list,
             positive_infos: InstanceList | None = None, **kwargs) -> dict:
        """Caps the anchors per image, then runs :meth:`CondInstMaskHead.loss` on them."""
        assert positive_infos is not None, 'O2FCondInstMaskHead needs the box head positives'
        positive_infos = [self.select_positives(info) for info in positive_infos]
        return super().loss(x, batch_data_samples, positive_infos=positive_infos, **kwargs)

    def mask_loss_weights(self, positive_info: InstanceData) -> Tensor:
        """Per-anchor dice weights, shape (num_pos,), according to ``mask_weighting``."""
        if self.mask_weighting == 'soft_target':
            return positive_info.soft_targets
        if self.mask_weighting == 'assign_weight':
            return positive_info.assign_weights
        return torch.ones_like(positive_info.soft_targets)

    def loss_by_feat(self, mask_preds: list[Tensor], batch_gt_instances: InstanceList,
                     batch_img_metas: list[dict], positive_infos: InstanceList,
                     **kwargs) -> dict:
        """Weighted dice loss over the labelled anchors of the batch.

        Args:
            mask_preds (list[Tensor]): per image, mask logits (num_pos, H_out, W_out).
            batch_gt_instances (list[InstanceData]): per image, ``masks`` padded to the batch
                input shape (done by ``BaseMaskHead.loss``).
            batch_img_metas (list[dict]): unused.
            positive_infos (list[InstanceData]): the capped anchors (see :meth:`loss`).

        Returns:
            dict: ``loss_mask`` = sum(w * dice) / max(sum(w), 1).
        """
        loss_sum = mask_preds[0].new_zeros(())
        weight_sum = mask_preds[0].new_zeros(())
        for mask_pred, gt_instances, info in zip(mask_preds, batch_gt_instances, positive_infos):
            # no subsampling happens inside: len(info) <= max_masks_to_train already
            mask_pred, mask_targets, num_pos = self._get_targets_single(
                mask_pred, gt_instances, info)
            if num_pos == 0 or mask_targets is None:
                loss_sum = loss_sum + mask_pred.sum() * 0  # keep the graph for DDP
                continue
            weights = self.mask_loss_weights(info)
            loss_sum = loss_sum + self.loss_mask(
                mask_pred, mask_targets, weight=weights, reduction_override='sum')
            weight_sum = weight_sum + weights.sum()
        normaliser = reduce_mean(weight_sum.detach()).clamp(min=1.0)
        return dict(loss_mask=loss_sum / normaliser)

    @torch.no_grad()
    def candidate_mask_iou(self, mask_feat: Tensor, candidates: InstanceData,
                           gt_masks: BaseInstanceMasks) -> Tensor:
        """Soft mask IoU of each candidate anchor's dynamic mask with each ground truth.

        Used for mask-aware matching (``mask_iou_matching``): the box head calls it for the
        anchors inside some object's centre region only, ``candidate_chunk`` masks at a
        time, so its cost is bounded by the candidates, not by all ~20k anchors. The IoU is
        taken at ``mask_out_stride`` on the same subsampled ground truth as the dice targets.

        Args:
            mask_feat (Tensor): one image's mask features, (C_mask, H, W).
            candidates (InstanceData): ``param_preds`` (P, num_params), ``points`` (P, 2),
                ``strides`` (P,).
            gt_masks (BaseInstanceMasks): the image's M masks, padded to the batch input.

        Returns:
            Tensor: shape (M, P), soft IoU in [0, 1].
        """
        start = self.mask_out_stride // 2
        gt = gt_masks.to_tensor(dtype=torch.bool, device=mask_feat.device)
        gt = gt[:, start::self.mask_out_stride, start::self.mask_out_stride].float()
        ious = [gt.new_zeros((len(gt), 0))]
        for first in range(0, len(candidates), self.candidate_chunk):
            chunk = candidates[first:first + self.candidate_chunk]
            mask_probs = self.forward_single(mask_feat, chunk)[0].sigmoid()
            ious.append(soft_mask_iou(gt, mask_probs[:, :gt.shape[1], :gt.shape[2]]))
        return torch.cat(ious, 1)
