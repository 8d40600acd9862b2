"""CondInst box heads: one-to-few (o2f, or POTO via train_cfg.assigner) with mask-aware matching,
and the NMS switch."""

import copy
from collections.abc import Callable

import torch
from mmdet.models.dense_heads import CondInstBboxHead
from mmdet.models.utils import filter_scores_and_topk, unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import InstanceList, OptInstanceList
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from o2f_core import O2FAssignResult
from o2f_det.models import NMSSwitchMixin, O2FHeadMixin

from ..utils import mask_centres_of_mass

# (img_id, candidates: InstanceData(points, strides, param_preds), gt_instances) -> (M, P) IoU
MaskQualityFn = Callable[[int, InstanceData, InstanceData], Tensor]


@MODELS.register_module()
class NMSSwitchCondInstBboxHead(NMSSwitchMixin, CondInstBboxHead):
    """mmdet's CondInst box head (one-to-many) with the ``test_cfg.with_nms`` switch.

    The CondInst baseline: ``with_nms=True`` is mmdet's behaviour (box NMS, then masks for
    the survivors); ``with_nms=False`` keeps the ``max_per_img`` best-scored candidates.
    """


@MODELS.register_module()
class O2FCondInstBboxHead(O2FHeadMixin, NMSSwitchMixin, CondInstBboxHead):
    """CondInst box head trained with the one-to-few assignment, NMS-free at test time.

    The o2f recipe is the detection head's (:class:`o2f_det.models.O2FHeadMixin`): joint score
    ``p = sigmoid(cls) * sigmoid(ctr)`` with ``num_ctr_convs`` extra 64-channel convs before
    the centerness output, :class:`o2f_core.O2FAssigner` soft targets following the
    temperature T (``O2FTemperatureHook``), soft focal loss on ``p`` and centerness-weighted
    GIoU on the labelled anchors, ``train_cfg`` keys as in ``O2FHead``. On top of CondInst:

    * **Mask-aware centre** (``mask_centres=True``): when the ground truth has masks, each
      object's candidate square (``center_radius * stride``, clipped to the box) is centred
      at the centre of mass of its mask, in input-image pixels after the pipeline's resize
      and flip, a pixel counting at its index as in the authors' code
      (``mask_centre_half_pixel=True``: at its centre, index + 0.5). For an L- or ring-shaped
      object the box centre can lie off the object.
    * **Mask-IoU matching** (optional, ``O2FCondInst(mask_iou_matching=True)``): the detector
      passes ``mask_quality_fn`` and the IoU term of ``p^(1-alpha) * IoU^alpha`` becomes the
      soft mask IoU of each candidate anchor's predicted mask (:meth:`mask_quality`).
    * **Positives for the mask head**: :meth:`get_positive_infos` returns every labelled
      anchor (certain and ambiguous) with ``certain``, ``soft_targets`` and
      ``assign_weights``, so :class:`O2FCondInstMaskHead` can weight and cap them.
    * **NMS-free prediction** (the authors' ``get_bboxes``): per level the ``nms_pre`` points
      with the best joint score ``max_c p``, of which every (point, class) pair with
      ``sigmoid(cls) > score_thr`` is kept, scored by ``p``; then the ``max_per_img`` best per
      image. ``test_cfg.with_nms=True`` applies box NMS instead; ``test_cfg.joint_score_thr=True``
      thresholds and pre-selects (point, class) pairs on ``p`` itself (see
      :meth:`_predict_by_feat_single`). Masks come from the kept anchors' dynamic filters.

    The loss path is the detection head's (``O2FHeadMixin.o2f_loss_by_feat``) through its
    hooks: :meth:`o2f_gt_centers` (mask centres), :meth:`o2f_quality` (mask IoU) and
    :meth:`o2f_after_assign` (positives for the mask head). The POTO baseline (paper Table 9) is
    this head with ``train_cfg.assigner=dict(type='POTOAssigner')``. FCOSHead's
    ``loss_centerness``, ``regress_ranges`` and ``center_sampling`` are refused (unused).

    Args:
        mask_centres (bool): centre candidate squares at mask centres of mass (False: box
            centres, as in detection).
        mask_centre_half_pixel (bool): our switch, off by default: a mask pixel's mass sits at
            its centre (index + 0.5, the frame of boxes and prior points) instead of at its
            index (the authors' and mmdet's CondInst). It moves each centre by half a pixel
            down-right of the authors'.
        **kwargs: ``centerness_branch`` (or ``num_ctr_convs``, ``ctr_conv_channels``),
            ``loss_cls``, ``loss_bbox`` (O2FHeadMixin) and the arguments of
            :class:`CondInstBboxHead`.
    """

    def __init__(self, *args, mask_centres: bool = True, mask_centre_half_pixel: bool = False,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mask_centres = mask_centres
        self.mask_centre_half_pixel = bool(mask_centre_half_pixel)

    # ------------------------------------------------------------------ training

    def loss(self, x: tuple[Tensor], batch_data_samples: SampleList,
             mask_quality_fn: MaskQualityFn | None = None) -> dict:
        """``BaseDenseHead.loss`` plus an optional mask-IoU provider for the matching."""
        gts, gts_ignore, img_metas = unpack_gt_instances(batch_data_samples)
        return self.loss_by_feat(*self(x), gts, img_metas, gts_ignore,
                                 mask_quality_fn=mask_quality_fn)

    def gt_centres(self, gt_instances: InstanceData) -> Tensor | None:
        """Centres (M, 2) of the candidate squares: mask centres of mass, None for boxes."""
        if not self.mask_centres or 'masks' not in gt_instances or len(gt_instances) == 0:
            return None
        boxes = get_box_tensor(gt_instances.bboxes).float()
        masks = gt_instances.masks.to_tensor(dtype=torch.bool, device=boxes.device)
        return mask_centres_of_mass(masks, boxes,
                                    pixel_offset=0.5 if self.mask_centre_half_pixel else 0.0)

    def loss_by_feat(self,
                     cls_scores: list[Tensor],
                     bbox_preds: list[Tensor],
                     centernesses: list[Tensor],
                     param_preds: list[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: list[dict],
                     batch_gt_instances_ignore: OptInstanceList = None,
                     mask_quality_fn: MaskQualityFn | None = None) -> dict[str, Tensor]:
        """o2f losses of the box branch; stores the labelled anchors for the mask head.

        Args:
            cls_scores (list[Tensor]): per level (B, C, H_i, W_i) class logits.
            bbox_preds (list[Tensor]): per level (B, 4, H_i, W_i) ltrb distances.
            centernesses (list[Tensor]): per level (B, 1, H_i, W_i) centerness logits.
            param_preds (list[Tensor]): per level (B, num_params, H_i, W_i) dynamic filters.
            batch_gt_instances (list[InstanceData]): ``bboxes`` (M, 4), ``labels`` (M,) and,
                for mask-aware centres, ``masks``.
            batch_img_metas (list[dict]): image metas (unused).
            batch_gt_instances_ignore (list[InstanceData], optional): ignore regions.
            mask_quality_fn (callable, optional): mask IoU of candidate anchors (given by
                :class:`O2FCondInst`); None matches with box IoU.

        Returns:
            dict: ``loss_cls`` and ``loss_bbox`` (see ``O2FHeadMixin.o2f_loss``).
        """
        return self.o2f_loss_by_feat(cls_scores, bbox_preds, centernesses, batch_gt_instances,
                                     batch_gt_instances_ignore, param_preds=param_preds,
                                     mask_quality_fn=mask_quality_fn)

    # Hooks of O2FHeadMixin.o2f_loss_by_feat.
    def o2f_gt_centers(self, gt_instances: InstanceData) -> Tensor | None:
        """Mask centres of mass (``mask_centres=True`` and masks given), else box centres."""
        return self.gt_centres(gt_instances)

    def o2f_quality(self, img_id: int, gt_instances: InstanceData, gt_centers: Tensor | None,
                    points: Tensor, strides: Tensor, param_preds: list[Tensor] | None = None,
                    mask_quality_fn: MaskQualityFn | None = None, **context) -> Tensor | None:
        """Mask IoU (M, N) of the candidate anchors when ``mask_quality_fn`` is given."""
        if mask_quality_fn is None or len(gt_instances) == 0:
            return None
        params = torch.cat([level[img_id].permute(1, 2, 0).flatten(0, 1)
                            for level in param_preds])                     # (N, num_params)
        return self.mask_quality(mask_quality_fn, img_id, gt_instances, gt_centers, points,
                                 strides, params)

    def o2f_after_assign(self, cls_scores: list[Tensor], centernesses: list[Tensor],
                         points: Tensor, strides: Tensor,
                         assign_results: list[O2FAssignResult],
                         param_preds: list[Tensor] | None = None, **context) -> None:
        """Keep every labelled anchor (certain and ambiguous) for the mask head."""
        num_points_per_level = [score.shape[-2] * score.shape[-1] for score in cls_scores]
        self._store_positive_infos(cls_scores, centernesses, param_preds,
                                   points.split(num_points_per_level),
                                   strides.split(num_points_per_level), assign_results)

    def mask_quality(self, mask_quality_fn: MaskQualityFn, img_id: int,
                     gt_instances: InstanceData, gt_centres: Tensor | None, points: Tensor,
                     strides: Tensor, params: Tensor) -> Tensor:
        """Mask IoU (M, N) for the matching score, computed at candidate anchors only.

        Only anchors inside some object's candidate square can be matched, so masks are
        predicted for those alone (tens per object instead of all N anchors); every other
        entry stays 0 and is never read by the assigner.
        """
        candidate_mask = getattr(self.assigner, 'candidate_mask', None)
        if candidate_mask is None:
            raise ValueError(f'mask-IoU matching needs an assigner with candidate_mask(); '
                             f'{type(self.assigner).__name__} has none')
        boxes = get_box_tensor(gt_instances.bboxes).float()
        centres = gt_centres if gt_centres is not None else (boxes[:, :2] + boxes[:, 2:]) / 2
        candidate_inds = candidate_mask(points, strides, boxes, centres).any(0).nonzero()[:, 0]
        candidates = InstanceData(points=points[candidate_inds], strides=strides[candidate_inds],
                                  param_preds=params[candidate_inds].detach())
        quality = boxes.new_zeros((len(boxes), len(points)))
        quality[:, candidate_inds] = mask_quality_fn(img_id, candidates, gt_instances).float()
        return quality

    def _store_positive_infos(self, cls_scores: list[Tensor], centernesses: list[Tensor],
                              param_preds: list[Tensor], mlvl_points: list[Tensor],
                              mlvl_strides: list[Tensor],
                              results: list[O2FAssignResult]) -> None:
        """Fill ``_raw_positive_infos`` with CondInst's keys plus the o2f labels."""
        pos_inds_list = [result.labelled.nonzero()[:, 0] for result in results]

        def at_positives(field: str) -> list[Tensor]:
            return [getattr(result, field)[inds] for result, inds in zip(results, pos_inds_list)]

        self._raw_positive_infos.update(
            cls_scores=cls_scores, centernesses=centernesses, param_preds=param_preds,
            all_level_points=list(mlvl_points), all_level_strides=list(mlvl_strides),
            pos_inds_list=pos_inds_list, pos_gt_inds_list=at_positives('assigned_gt'),
            pos_certain_list=at_positives('certain'),
            pos_soft_targets_list=at_positives('soft_targets'),
            pos_weights_list=at_positives('weights'))

    def get_positive_infos(self) -> InstanceList:
        """CondInst's positive infos plus, per labelled anchor, ``certain`` (bool),
        ``soft_targets`` and ``assign_weights`` (float), each (num_pos,)."""
        positive_infos = super().get_positive_infos()
        raw = self._raw_positive_infos
        for info, certain, soft_targets, weights in zip(
                positive_infos, raw['pos_certain_list'], raw['pos_soft_targets_list'],
                raw['pos_weights_list']):
            info.certain = certain
            info.soft_targets = soft_targets
            info.assign_weights = weights
        return positive_infos

    # ------------------------------------------------------------------ inference

    def _predict_by_feat_single(self, cls_score_list: list[Tensor], bbox_pred_list: list[Tensor],
                                score_factor_list: list[Tensor], param_pred_list: list[Tensor],
                                mlvl_points: list[Tensor], mlvl_strides: list[Tensor],
                                img_meta: dict, cfg: ConfigDict | None, rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """Candidates of one image, selected as the authors' ``_get_bboxes_single`` does.

        Per level, with ``s = sigmoid(cls)`` and ``p = s * sigmoid(ctr)``:

        1. when the level has more than ``nms_pre`` points, keep the ``nms_pre`` points with
           the largest ``max_c p`` (points, not (point, class) pairs);
        2. keep every (point, class) pair of those points with ``s > score_thr`` (the class
           probability alone: the threshold acts before the centerness multiply), scored ``p``.

        ``test_cfg.joint_score_thr=True`` (our switch, off by default) instead keeps the
        ``nms_pre`` best (point, class) pairs with ``p > score_thr``, so the threshold applies
        to the score that is reported and ranked. The ``max_per_img`` cut (sorted by ``p``) or
        NMS follows in ``_bbox_post_process`` (``NMSSwitchMixin``); ``min_bbox_size=-1`` keeps
        degenerate boxes as the authors' code does.

        Args:
            cls_score_list (list[Tensor]): per level (C, H_i, W_i) class logits.
            bbox_pred_list (list[Tensor]): per level (4, H_i, W_i) ltrb pixel distances.
            score_factor_list (list[Tensor]): per level (1, H_i, W_i) centerness logits.
            param_pred_list (list[Tensor]): per level (num_params, H_i, W_i) dynamic filters.
            mlvl_points (list[Tensor]): per level (H_i * W_i, 2) points.
            mlvl_strides (list[Tensor]): per level (H_i * W_i,) strides.
            img_meta (dict): ``img_shape`` (and ``scale_factor`` when rescaling).
            cfg (ConfigDict | None): test config (None: ``self.test_cfg``).

        Returns:
            InstanceData: ``bboxes`` (K, 4), ``scores`` (K,) joint, ``labels`` (K,),
            ``param_preds`` (K, num_params), ``points`` (K, 2), ``strides`` (K,),
            K <= ``max_per_img``, sorted by score without NMS.
        """
        cfg = copy.deepcopy(self.test_cfg if cfg is None else cfg)
        score_thr = float(cfg.get('score_thr', 0.0))
        nms_pre = cfg.get('nms_pre', -1)
        joint_score_thr = bool(cfg.get('joint_score_thr', False))
        kept = dict(scores=[], labels=[], bbox_preds=[], param_preds=[], points=[], strides=[])
        for cls_score, bbox_pred, centerness, param_pred, points, strides in zip(
                cls_score_list, bbox_pred_list, score_factor_list, param_pred_list,
                mlvl_points, mlvl_strides, strict=True):
            cls_probs = cls_score.flatten(1).T.sigmoid()                          # (N_i, C)
            joint = cls_probs * centerness.reshape(-1, 1).sigmoid()               # (N_i, C)
            if joint_score_thr:
                # nms_pre <= 0 keeps everything (mmdet's -1 would cut the last candidate)
                topk = nms_pre if nms_pre is not None and nms_pre > 0 else joint.numel()
                scores, labels, point_idx, _ = filter_scores_and_topk(joint, score_thr, topk)
            else:
                point_idx = torch.arange(joint.shape[0], device=joint.device)
                if nms_pre is not None and 0 < nms_pre < joint.shape[0]:
                    point_idx = joint.amax(dim=1).topk(nms_pre).indices
                rows, labels = (cls_probs[point_idx] > score_thr).nonzero(as_tuple=True)
                point_idx = point_idx[rows]
                scores = joint[point_idx, labels]
            kept['scores'].append(scores)
            kept['labels'].append(labels)
            kept['bbox_preds'].append(bbox_pred.flatten(1).T[point_idx])
            kept['param_preds'].append(param_pred.flatten(1).T[point_idx])
            kept['points'].append(points[point_idx])
            kept['strides'].append(strides[point_idx])
        kept = {key: torch.cat(values) for key, values in kept.items()}
        results = InstanceData()
        results.bboxes = self.bbox_coder.decode(kept['points'], kept['bbox_preds'],
                                                max_shape=img_meta['img_shape'])
        for key in ('scores', 'labels', 'param_preds', 'points', 'strides'):
            results[key] = kept[key]
        return self._bbox_post_process(results, cfg, rescale=rescale, with_nms=with_nms,
                                       img_meta=img_meta)

