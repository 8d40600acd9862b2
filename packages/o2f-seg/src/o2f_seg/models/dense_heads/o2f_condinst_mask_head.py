"""CondInst mask head trained on the certain and ambiguous anchors of the o2f assignment."""

import torch
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import CondInstMaskHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures.mask import BaseInstanceMasks
from mmdet.utils import ConfigType, InstanceList
from mmengine.model import bias_init_with_prob, normal_init
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ..utils import soft_mask_iou

MASK_WEIGHTINGS = ('uniform', 'soft_target', 'assign_weight')


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
      weight ``w`` and the sum is divided by ``sum(w)`` over the process's batch (the
      authors' per-process mean; DDP then averages the gradients).

      - ``'uniform'`` (default, the authors' code): every labelled anchor weighs 1, so the
        loss is the plain mean of the dice terms (their recipe multiplies it by 2: set
        ``loss_mask.loss_weight=2.0``).
      - ``'soft_target'`` (our switch): ``w = 1`` for the certain anchor and ``w = t`` for an
        ambiguous one. The certain anchor is re-chosen at every step among these same
        anchors, and any of them may rank first at test time (no NMS), so each needs a
        usable mask, in proportion to how strongly the assigner ties it to the object: its
        soft target ``t``, which also decays with T (0.6 -> 0.2) like its classification
        target. Ambiguous anchors thus add mask supervision without outweighing the
        certain one.
      - ``'assign_weight'`` (our switch): the classification weight (1 / ``ambiguous_weight``).
    * **Bounded memory** (``max_masks_to_train``; -1, the authors' setting, trains every
      labelled anchor): the cap is applied *before* the dynamic convolutions run, so at most
      that many masks per image are ever computed in training. When an image has more
      labelled anchors, the certain positives are kept first, then the ambiguous ones with
      the largest soft targets (deterministic; CondInst draws a random subset after
      computing every mask).

    * **Auxiliary semantic loss** (``loss_semantic``, the authors' ``sem_loss_on=True``;
      mmdet's CondInst has none): two 3x3 conv + BN + ReLU layers (``semantic_channels``) and
      a 1x1 class predictor on P3 (the first FPN output), trained with a sigmoid focal loss
      against each stride-8 sample's class (that of the smallest-area mask covering it,
      background elsewhere), summed and divided by the batch's foreground samples. It only
      shapes the shared features; it is not used at test time.

    :meth:`loss` also accepts precomputed mask features, so :class:`O2FCondInst` can reuse
    the features it already ran for mask-IoU matching.

    Args:
        mask_weighting (str): ``'uniform'`` (default, the authors'), ``'soft_target'`` or
            ``'assign_weight'``.
        candidate_chunk (int): masks computed at once when scoring matching candidates
            (:meth:`candidate_mask_iou`); bounds the memory of mask-IoU matching.
        loss_semantic (dict, optional): the semantic loss (the authors':
            ``dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
            loss_weight=1.0)``); None builds no semantic branch.
        num_classes (int, optional): classes of the semantic branch (needed with it).
        semantic_channels (int): width of its two 3x3 convs (the authors': 128).
        **kwargs: arguments of :class:`CondInstMaskHead`. ``topk_masks_per_img`` must stay -1:
            its per-object selection ranks by one-to-many scores and is replaced by the cap.
    """

    def __init__(self, *args, mask_weighting: str = 'uniform', candidate_chunk: int = 256,
                 loss_semantic: ConfigType | None = None, num_classes: int | None = None,
                 semantic_channels: int = 128, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.loss_semantic = None
        if loss_semantic is not None:
            if num_classes is None:
                raise ValueError('O2FCondInstMaskHead: loss_semantic needs num_classes')
            self.num_classes = int(num_classes)
            norm_cfg = dict(type='BN', requires_grad=True)
            in_channels = self.mask_feature_head.in_channels
            self.semantic_convs = nn.Sequential(
                ConvModule(in_channels, semantic_channels, 3, padding=1, norm_cfg=norm_cfg),
                ConvModule(semantic_channels, semantic_channels, 3, padding=1,
                           norm_cfg=norm_cfg))
            self.semantic_pred = nn.Conv2d(semantic_channels, self.num_classes, 1)
            self.loss_semantic = MODELS.build(loss_semantic)
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

    def init_weights(self) -> None:
        """mmdet's init, then the authors' init of the semantic branch (normal std 0.01,
        class prior 0.01)."""
        super().init_weights()
        if self.loss_semantic is not None:
            for conv_module in self.semantic_convs:
                normal_init(conv_module.conv, std=0.01)
            normal_init(self.semantic_pred, std=0.01, bias=bias_init_with_prob(0.01))

    def loss(self, x: tuple[Tensor], batch_data_samples: list,
             positive_infos: InstanceList | None = None, mask_feats: Tensor | None = None,
             **kwargs) -> dict:
        """Dice loss of the capped labelled anchors (and the semantic loss, when built).

        Args:
            x (tuple[Tensor]): FPN features, each (B, C, H_i, W_i).
            batch_data_samples (list[DetDataSample]): with ``gt_instances`` (``masks``,
                ``labels``); the masks are padded to the batch input shape here.
            positive_infos (list[InstanceData]): the box head's labelled anchors.
            mask_feats (Tensor, optional): (B, C_mask, H/8, W/8) mask features already
                computed from ``x`` (mask-IoU matching); computed here when None.

        Returns:
            dict: ``loss_mask`` (and ``loss_sem``).
        """
        assert positive_infos is not None, 'O2FCondInstMaskHead needs the box head positives'
        positive_infos = [self.select_positives(info) for info in positive_infos]
        if mask_feats is None:
            mask_feats = self.mask_feature_head(x)
        (mask_preds,) = self(mask_feats, positive_infos)
        batch_gt_instances, _, batch_img_metas = unpack_gt_instances(batch_data_samples)
        for gt_instances, img_meta in zip(batch_gt_instances, batch_img_metas):
            gt_instances.masks = gt_instances.masks.pad(img_meta['batch_input_shape'])
        losses = self.loss_by_feat(mask_preds, batch_gt_instances, batch_img_metas,
                                   positive_infos)
        if self.loss_semantic is not None:
            losses['loss_sem'] = self.semantic_loss(x[0], batch_gt_instances)
        return losses

    def semantic_targets(self, gt_instances: InstanceData, height: int, width: int) -> Tensor:
        """Class of every stride-8 sample of one image, as in the authors' code.

        Sample ``(i, j)`` is pixel ``(8 i + 4, 8 j + 4)`` of the padded masks; it takes the
        label of the smallest mask (in pixels) covering it, ``num_classes`` where none does.

        Args:
            gt_instances (InstanceData): ``masks`` (M masks padded to the batch input) and
                ``labels`` (M,).
            height, width (int): size of the P3 map.

        Returns:
            Tensor: (height, width) long.
        """
        device = gt_instances.labels.device
        targets = torch.full((height, width), self.num_classes, dtype=torch.long, device=device)
        if len(gt_instances) == 0:
            return targets
        masks = gt_instances.masks.to_tensor(dtype=torch.bool, device=device)     # (M, H, W)
        areas = masks.flatten(1).sum(1).float()                                  # (M,)
        stride = self.mask_feat_stride
        covered = masks[:, stride // 2::stride, stride // 2::stride][:, :height, :width]
        area_map = torch.where(covered, areas[:, None, None], areas.new_tensor(float('inf')))
        min_area, smallest = area_map.min(dim=0)                                 # (h, w)
        found = torch.isfinite(min_area)
        sampled = targets[:covered.shape[1], :covered.shape[2]]
        sampled[found] = gt_instances.labels.long()[smallest[found]]
        return targets

    def semantic_loss(self, p3: Tensor, batch_gt_instances: InstanceList) -> Tensor:
        """Focal loss of the semantic branch on P3, summed over all (sample, class) entries
        and divided by the batch's foreground samples (at least 1), per process.

        Args:
            p3 (Tensor): (B, C, H/8, W/8) first FPN level.
            batch_gt_instances (list[InstanceData]): masks padded to the batch input.

        Returns:
            Tensor: scalar ``loss_sem``.
        """
        logits = self.semantic_pred(self.semantic_convs(p3))                     # (B, K, h, w)
        height, width = logits.shape[-2:]
        targets = torch.stack([self.semantic_targets(gt, height, width)
                               for gt in batch_gt_instances])                    # (B, h, w)
        num_foreground = (targets < self.num_classes).sum().clamp(min=1).float()
        loss = self.loss_semantic(logits.permute(0, 2, 3, 1).reshape(-1, self.num_classes),
                                  targets.reshape(-1), reduction_override='sum')
        return loss / num_foreground

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
        normaliser = weight_sum.detach().clamp(min=1.0)
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
