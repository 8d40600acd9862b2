"""Heads of the paper's Table 5 baselines beyond plain POTO, as ``O2FHead`` subclasses.

- :class:`O2FAuxLossHead`: DeFCN's POTO + 3DMF + Aux: the o2f head's losses on the gated score
  (with ``train_cfg.assigner = POTOAssigner`` and the ``O2FMaxFilter3D`` centerness branch: POTO
  + 3DMF) plus DeFCN's auxiliary one-to-many focal loss on the *ungated* class score
  (``loss_cls_aux``), labelled by ``train_cfg.aux_assigner`` (DeFCN: ``QualityATSSAssigner``;
  ``QualityTopkAssigner`` or ``FCOSAssigner`` switch it).
- :class:`O2FHybridEpochHead`: H-DETR's hybrid epoch scheme on FCOS (paper Sec. 4.3): one-to-many
  labels (``train_cfg.o2m_assigner``, FCOS's rule) before ``train_cfg.switch_epoch``, one-to-one
  (``train_cfg.assigner``, POTO) from it on; static loss weights (one-to-one, one-to-many) =
  (0, 1) then (1, 0). The epoch comes from ``O2FTrainEpochHook``.
"""

from __future__ import annotations

import torch
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import InstanceList, OptInstanceList, reduce_mean
from mmengine.structures import InstanceData
from torch import Tensor

from .o2f_head import TRAIN_CFG_KEYS, O2FHead

__all__ = ['O2FAuxLossHead', 'O2FHybridEpochHead']

# DeFCN's auxiliary loss: sigmoid focal loss (alpha 0.25, gamma 2) on sigmoid(cls), weight 1,
# normalised by the number of auxiliary positives.
DEFAULT_LOSS_AUX = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                        loss_weight=1.0)
DEFAULT_AUX_ASSIGNER = 'QualityATSSAssigner'
DEFAULT_O2M_ASSIGNER = 'FCOSAssigner'


@MODELS.register_module()
class O2FAuxLossHead(O2FHead):
    """``O2FHead`` plus DeFCN's auxiliary one-to-many loss on ``sigmoid(cls)`` (no gate).

    Losses: ``loss_cls`` and ``loss_bbox`` as ``O2FHead`` (with ``train_cfg.assigner``), plus
    ``loss_cls_aux = loss_aux(cls logits, one-to-many labels) / max(#aux positives, 1)``.

    Args:
        loss_aux (dict): an mmdet ``MODELS`` classification loss on logits taking
            ``(pred (K, C), labels (K,), avg_factor)``, background = ``num_classes`` (default
            DeFCN's: ``FocalLoss`` alpha 0.25, gamma 2, weight 1).

    ``train_cfg.aux_assigner`` (dict): a ``TASK_UTILS`` assigner of hard labels fed with
    ``scores = sigmoid(cls)`` (ungated) and the decoded boxes (default
    ``dict(type='QualityATSSAssigner')``: topk 9, alpha 0.8, DeFCN's).
    """

    o2f_train_cfg_keys = (*TRAIN_CFG_KEYS, 'aux_assigner')

    def __init__(self, *args, loss_aux: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.loss_aux = MODELS.build(dict(loss_aux or DEFAULT_LOSS_AUX))
        aux_cfg = dict((self.train_cfg or {}).get('aux_assigner') or {})
        aux_cfg.setdefault('type', DEFAULT_AUX_ASSIGNER)
        self.aux_assigner = self.build_assigner(aux_cfg)

    def aux_assign(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                   centernesses: list[Tensor], batch_gt_instances: InstanceList,
                   batch_gt_instances_ignore: OptInstanceList = None
                   ) -> tuple[Tensor, list[AssignResult]]:
        """One-to-many labels of the batch from ``train_cfg.aux_assigner``.

        Args:
            cls_scores (list[Tensor]): each (B, C, H_i, W_i) logits.
            bbox_preds (list[Tensor]): each (B, 4, H_i, W_i); centernesses: each (B, 1, H_i, W_i).
            batch_gt_instances (list[InstanceData]): ``bboxes`` (M, 4), ``labels`` (M,).
            batch_gt_instances_ignore (list[InstanceData], optional): used as by the main loss
                (only with ``train_cfg.exclude_ignore_regions``).

        Returns:
            tuple: ``logits`` (B, N, C) float32 class logits (differentiable) and one
            ``AssignResult`` per image (fed ``scores = sigmoid(logits)``, no gate).
        """
        num_imgs = cls_scores[0].size(0)
        _, pred_boxes, points, strides = self.o2f_flatten(cls_scores, bbox_preds, centernesses)
        logits = torch.cat([level.permute(0, 2, 3, 1).reshape(num_imgs, -1, level.size(1))
                            for level in cls_scores], dim=1).float()            # (B, N, C)
        probs = logits.detach().sigmoid()
        priors = torch.cat([points, strides[:, None], strides[:, None]], dim=1)
        results = []
        for img_idx, gt in enumerate(batch_gt_instances):
            ignored = None
            if self.exclude_ignore_regions and batch_gt_instances_ignore is not None:
                ignored = batch_gt_instances_ignore[img_idx]
            gts = InstanceData(bboxes=get_box_tensor(gt.bboxes).detach().float(),
                               labels=gt.labels)
            preds = InstanceData(priors=priors, scores=probs[img_idx],
                                 bboxes=pred_boxes[img_idx].detach())
            results.append(self.aux_assigner.assign(preds, gts, ignored))
        return logits, results

    def aux_loss(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                 centernesses: list[Tensor], batch_gt_instances: InstanceList,
                 batch_gt_instances_ignore: OptInstanceList = None) -> Tensor:
        """The auxiliary loss of the batch (scalar); arguments as :meth:`aux_assign`."""
        with torch.autocast(device_type=cls_scores[0].device.type, enabled=False):
            logits, results = self.aux_assign(cls_scores, bbox_preds, centernesses,
                                              batch_gt_instances, batch_gt_instances_ignore)
            gt_inds = torch.cat([result.gt_inds for result in results])
            labels = torch.cat([result.labels for result in results])
            positive = gt_inds > 0
            targets = torch.where(positive, labels, self.num_classes)
            valid = gt_inds >= 0  # not inside an ignore region
            avg_factor = reduce_mean(logits.new_tensor(float(positive.sum()))).clamp(min=1.0)
            return self.loss_aux(logits.reshape(-1, logits.size(-1))[valid], targets[valid],
                                 avg_factor=avg_factor.item())

    def loss_by_feat(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                     centernesses: list[Tensor], batch_gt_instances: InstanceList,
                     batch_img_metas: list[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict[str, Tensor]:
        """``loss_cls``, ``loss_bbox`` (one-to-one on the gated score) and ``loss_cls_aux``."""
        losses = super().loss_by_feat(cls_scores, bbox_preds, centernesses, batch_gt_instances,
                                      batch_img_metas, batch_gt_instances_ignore)
        losses['loss_cls_aux'] = self.aux_loss(cls_scores, bbox_preds, centernesses,
                                               batch_gt_instances, batch_gt_instances_ignore)
        return losses


@MODELS.register_module()
class O2FHybridEpochHead(O2FHead):
    """Hybrid-Epoch: one-to-many labels before ``switch_epoch``, one-to-one from it on.

    Both phases train the o2f head's losses (``loss_cls``/``loss_bbox`` of ``O2FHead``) on the
    joint score; only the labels change. Losses are reported per phase with the static weights
    applied: ``loss_{cls,bbox}_o2m`` (weight 1 before the switch, then 0) and
    ``loss_{cls,bbox}_o2o`` (0, then 1); a term of weight 0 is not computed (reported as 0).

    ``train_cfg`` keys besides ``assigner`` (the one-to-one assigner, POTO):
    ``o2m_assigner`` (dict, default ``dict(type='FCOSAssigner')``) and ``switch_epoch`` (int,
    required: epochs ``0 .. switch_epoch - 1`` are one-to-many).
    """

    o2f_train_cfg_keys = (*TRAIN_CFG_KEYS, 'o2m_assigner', 'switch_epoch')

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        train_cfg = dict(self.train_cfg or {})
        switch = train_cfg.get('switch_epoch')
        if self.train_cfg is not None and (isinstance(switch, bool) or
                                           not isinstance(switch, int) or switch < 0):
            raise ValueError(f'O2FHybridEpochHead: model.train_cfg.switch_epoch must be an '
                             f'integer >= 0 (the first one-to-one epoch), got {switch!r}')
        self.switch_epoch = switch
        o2m_cfg = dict(train_cfg.get('o2m_assigner') or {})
        o2m_cfg.setdefault('type', DEFAULT_O2M_ASSIGNER)
        self.o2m_assigner = self.build_assigner(o2m_cfg)
        self.train_epoch: int | None = None

    def set_train_epoch(self, epoch: int | None) -> None:
        """Set the current training epoch, 0-based (called by ``O2FTrainEpochHook``)."""
        self.train_epoch = None if epoch is None else int(epoch)

    def hybrid_weights(self) -> tuple[float, float]:
        """(one-to-one, one-to-many) loss weights of the current epoch: (0, 1) or (1, 0)."""
        if self.train_epoch is None:
            raise ValueError("O2FHybridEpochHead: the training epoch is not set; train with "
                             "custom_hooks=[dict(type='O2FTrainEpochHook')] (or call "
                             "head.set_train_epoch(epoch) first)")
        return (0.0, 1.0) if self.train_epoch < self.switch_epoch else (1.0, 0.0)

    def o2f_active_assigner(self):
        return self.o2m_assigner if self.hybrid_weights()[1] else self.assigner

    def loss_by_feat(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                     centernesses: list[Tensor], batch_gt_instances: InstanceList,
                     batch_img_metas: list[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict[str, Tensor]:
        """The active phase's ``loss_cls``/``loss_bbox`` under its suffix, the other phase's 0."""
        o2o_weight, o2m_weight = self.hybrid_weights()
        losses = super().loss_by_feat(cls_scores, bbox_preds, centernesses, batch_gt_instances,
                                      batch_img_metas, batch_gt_instances_ignore)
        out = {}
        for phase, weight in (('o2o', o2o_weight), ('o2m', o2m_weight)):
            for key in ('loss_cls', 'loss_bbox'):
                out[f'{key}_{phase}'] = losses[key] * weight if weight else \
                    losses[key].new_zeros(())
        return out
