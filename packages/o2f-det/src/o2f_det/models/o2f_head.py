"""FCOS with one-to-few label assignment (the paper's detector, Fig. 3 and Eq. 1-5).

The o2f training logic sits in :class:`O2FHeadMixin` as small reusable methods on flat per-image
tensors (flatten -> assign -> loss), so the segmentation head (a CondInst subclass) reuses it.
:class:`O2FHead` combines it with mmdet's ``FCOSHead`` and an NMS-free post-process.
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict

import torch
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import InstanceList, OptInstanceList, reduce_mean
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor, nn

from o2f_core import O2FAssigner, O2FAssignResult
from o2f_core.losses import box_loss, classification_loss

from .nms_free_topk import nms_free_topk
from .nms_switch import NMSSwitchMixin

# Keys accepted in the head's train_cfg (a typo should fail loudly, not fall back to a default).
TRAIN_CFG_KEYS = ('assigner', 'centerness_weighting', 'loss_cls_weight', 'loss_bbox_weight')
# GIoU loss weight of the official code; the paper-preset numbers of the shared worked example
# use it too (tests/det/test_o2f_head.py reproduces both).
DEFAULT_LOSS_BBOX_WEIGHT = 2.0
# Keeps box_sum / weight_sum finite when no point of the batch is labelled (both are 0 then).
WEIGHT_SUM_EPS = torch.finfo(torch.float32).tiny


class O2FHeadMixin:
    """One-to-few training for FCOS-style heads (mix in before an ``FCOSHead`` subclass).

    Adds ``num_ctr_convs`` 3x3 convs (``ctr_conv_channels`` outputs, default 64) in front of the
    centerness predictor and trains on the joint score ``p = sigmoid(cls) * sigmoid(ctr)`` with
    targets from :class:`o2f_core.O2FAssigner` (centre region ``center_radius * stride`` on every
    level; FCOS regress ranges are not used). There is no separate centerness loss: centerness is
    learned through ``p``, as in the official code.

    ``train_cfg`` keys (all optional):
        assigner (dict): ``O2FAssigner`` kwargs (num_ambiguous, alpha, center_radius,
            ambiguous_weight); missing keys take O2FAssigner's defaults (the paper preset).
            The COCO configs set the official preset (num_ambiguous=6, ambiguous_weight=0.4).
        centerness_weighting (bool): weight each GIoU term by the FCOS centerness of its target
            (official, default True) or uniformly.
        loss_cls_weight (float): default 1.0.
        loss_bbox_weight (float): default 2.0 (official).

    Args:
        num_ctr_convs (int): extra convs before the centerness output, 1-3 (paper: 3).
        ctr_conv_channels (int): their output channels (paper: 64).
        temperature (float): initial T (largest ambiguous target); ``O2FTemperatureHook`` updates
            it through :meth:`set_temperature` before every epoch (or iteration).
    """

    def __init__(self, *args, num_ctr_convs: int = 3, ctr_conv_channels: int = 64,
                 temperature: float = 0.6, **kwargs) -> None:
        if not (isinstance(num_ctr_convs, int) and 1 <= num_ctr_convs <= 3):
            raise ValueError(f'{type(self).__name__}: num_ctr_convs must be 1, 2 or 3, '
                             f'got {num_ctr_convs!r}')
        # Read by _init_layers, which FCOSHead.__init__ calls.
        self.num_ctr_convs = num_ctr_convs
        self.ctr_conv_channels = ctr_conv_channels
        super().__init__(*args, **kwargs)
        train_cfg = dict(self.train_cfg or {})
        unknown = sorted(set(train_cfg) - set(TRAIN_CFG_KEYS))
        if unknown:
            raise ValueError(f'{type(self).__name__}: unknown train_cfg keys {unknown}; '
                             f'allowed: {list(TRAIN_CFG_KEYS)}')
        self.assigner = self.build_assigner(dict(train_cfg.get('assigner') or {}))
        self.centerness_weighting = bool(train_cfg.get('centerness_weighting', True))
        self.loss_cls_weight = float(train_cfg.get('loss_cls_weight', 1.0))
        self.loss_bbox_weight = float(train_cfg.get('loss_bbox_weight', DEFAULT_LOSS_BBOX_WEIGHT))
        self.temperature = float(temperature)

    # ----------------------------------------------------------------------------- layers
    def _init_layers(self) -> None:
        """FCOS layers, with the centerness predictor behind ``num_ctr_convs`` extra convs.

        ``conv_centerness`` becomes ``Sequential(ctr_convs, predictor)`` so FCOSHead's own
        ``forward_single`` runs unchanged (it calls ``self.conv_centerness(feat)``).
        """
        super()._init_layers()
        ctr_convs = []
        in_channels = self.feat_channels
        for _ in range(self.num_ctr_convs):
            ctr_convs.append(
                ConvModule(in_channels, self.ctr_conv_channels, 3, padding=1,
                           conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, bias=self.conv_bias))
            in_channels = self.ctr_conv_channels
        self.conv_centerness = nn.Sequential(OrderedDict(
            ctr_convs=nn.Sequential(*ctr_convs),
            predictor=nn.Conv2d(in_channels, 1, 3, padding=1)))

    # ----------------------------------------------------------------------------- T
    def set_temperature(self, temperature: float) -> None:
        """Set T, the soft target of the best ambiguous anchor (called by O2FTemperatureHook)."""
        self.temperature = float(temperature)

    def build_assigner(self, assigner_cfg: dict):
        """The per-image assigner; POTO overrides this with its Hungarian assigner."""
        return O2FAssigner(**assigner_cfg)

    # ----------------------------------------------------------------------------- targets
    def o2f_flatten(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                    centernesses: list[Tensor]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Per-image flat joint scores and decoded boxes, all levels concatenated (P3 first).

        Args:
            cls_scores (list[Tensor]): each (B, C, H_i, W_i) logits.
            bbox_preds (list[Tensor]): each (B, 4, H_i, W_i) ltrb distances (stride units when
                ``norm_on_bbox`` in training, else pixels).
            centernesses (list[Tensor]): each (B, 1, H_i, W_i) logits.

        Returns:
            tuple: ``scores`` (B, N, C) float32 joint probabilities (differentiable),
            ``pred_boxes`` (B, N, 4) float32 xyxy pixels, not clipped (differentiable),
            ``points`` (N, 2) xy pixels at cell centres, ``strides`` (N,) float32.
        """
        num_imgs = cls_scores[0].size(0)
        featmap_sizes = [score.shape[-2:] for score in cls_scores]
        mlvl_points = self.prior_generator.grid_priors(
            featmap_sizes, dtype=torch.float32, device=cls_scores[0].device)
        points = torch.cat(mlvl_points)
        level_strides = [float(stride[0]) for stride in self.prior_generator.strides]
        strides = torch.cat([level_points.new_full((level_points.size(0),), stride)
                             for level_points, stride in zip(mlvl_points, level_strides,
                                                             strict=True)])

        def flatten(mlvl: list[Tensor]) -> Tensor:  # each (B, K, H, W) -> (B, N, K) float32
            return torch.cat([level.permute(0, 2, 3, 1).reshape(num_imgs, -1, level.size(1))
                              for level in mlvl], dim=1).float()

        scores = flatten(cls_scores).sigmoid() * flatten(centernesses).sigmoid()
        distances = flatten(bbox_preds)
        if self.norm_on_bbox:  # FCOSHead multiplies by the stride only at test time
            distances = distances * strides[None, :, None]
        pred_boxes = self.bbox_coder.decode(points[None].expand(num_imgs, -1, -1), distances)
        return scores, pred_boxes, points, strides

    def o2f_assign(self, scores: Tensor, pred_boxes: Tensor, points: Tensor, strides: Tensor,
                   batch_gt_instances: InstanceList,
                   batch_gt_instances_ignore: OptInstanceList = None,
                   batch_gt_centers: list[Tensor | None] | None = None,
                   batch_quality: list[Tensor | None] | None = None) -> list[O2FAssignResult]:
        """Assign every image (a loop over images, each fully vectorised over points).

        Args:
            scores (Tensor): (B, N, C) joint probabilities.
            pred_boxes (Tensor): (B, N, 4) xyxy pixels.
            points (Tensor): (N, 2); strides (Tensor): (N,).
            batch_gt_instances (list[InstanceData]): per image ``bboxes`` (M, 4), ``labels`` (M,).
            batch_gt_instances_ignore (list[InstanceData], optional): per image ``bboxes`` (I, 4)
                of ignore regions (crowd); points inside them that are not labelled add no loss.
            batch_gt_centers (list[Tensor | None], optional): per image (M, 2) centres of the
                candidate regions (seg: mask centres of mass); None = box centres.
            batch_quality (list[Tensor | None], optional): per image (M, N) overlap replacing the
                box IoU in the ranking score (seg: mask IoU).

        Returns:
            list[O2FAssignResult]: one per image; no tensor in it carries a gradient.
        """
        results = []
        for img_idx, gt_instances in enumerate(batch_gt_instances):
            ignore_boxes = None
            if batch_gt_instances_ignore is not None:
                ignored = batch_gt_instances_ignore[img_idx]
                if ignored is not None and 'bboxes' in ignored and len(ignored) > 0:
                    ignore_boxes = get_box_tensor(ignored.bboxes).detach()
            results.append(self.assigner.assign(
                scores[img_idx].detach(), pred_boxes[img_idx].detach(), points, strides,
                get_box_tensor(gt_instances.bboxes).detach().float(), gt_instances.labels,
                self.temperature,
                gt_centers=None if batch_gt_centers is None else batch_gt_centers[img_idx],
                ignore_boxes=ignore_boxes,
                quality=None if batch_quality is None else batch_quality[img_idx]))
        return results

    def o2f_loss(self, scores: Tensor, pred_boxes: Tensor, points: Tensor,
                 assign_results: list[O2FAssignResult],
                 batch_gt_instances: InstanceList) -> dict[str, Tensor]:
        """Paper Eq. 4-5 with the batch normalisation of the official code.

        ``loss_cls = sum(soft focal) / max(#labelled, 1)``,
        ``loss_bbox = loss_bbox_weight * sum(w * (1 - GIoU)) / sum(w)``, both counts averaged over
        processes under DDP. With no labelled point in the batch the box loss is exactly 0 (and
        still has a gradient path, so DDP sees every parameter used).

        Args:
            scores (Tensor): (B, N, C) joint probabilities; pred_boxes (Tensor): (B, N, 4).
            points (Tensor): (N, 2).
            assign_results (list[O2FAssignResult]): one per image.
            batch_gt_instances (list[InstanceData]): the same objects as given to the assigner.

        Returns:
            dict: ``loss_cls`` and ``loss_bbox`` scalars.
        """
        cls_sum = scores.new_zeros(())
        box_sum = scores.new_zeros(())
        weight_sum = scores.new_zeros(())
        num_labelled = 0
        for img_idx, result in enumerate(assign_results):
            gt_boxes = get_box_tensor(batch_gt_instances[img_idx].bboxes).float()
            cls_sum = cls_sum + classification_loss(scores[img_idx], result)
            img_box_sum, img_weight_sum = box_loss(
                pred_boxes[img_idx], gt_boxes, points, result,
                centerness_weighting=self.centerness_weighting)
            box_sum = box_sum + img_box_sum
            weight_sum = weight_sum + img_weight_sum
            num_labelled += result.num_labelled
        cls_norm = reduce_mean(scores.new_tensor(float(num_labelled))).clamp(min=1.0)
        box_norm = reduce_mean(weight_sum.detach()).clamp(min=WEIGHT_SUM_EPS)
        return dict(loss_cls=self.loss_cls_weight * cls_sum / cls_norm,
                    loss_bbox=self.loss_bbox_weight * box_sum / box_norm)

    def loss_by_feat(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                     centernesses: list[Tensor], batch_gt_instances: InstanceList,
                     batch_img_metas: list[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict[str, Tensor]:
        """o2f losses from the head outputs (same positional order as ``FCOSHead``).

        Returns:
            dict: ``loss_cls`` and ``loss_bbox``.
        """
        # BCE on probabilities must run in float32 (autocast would run it in fp16).
        with torch.autocast(device_type=cls_scores[0].device.type, enabled=False):
            scores, pred_boxes, points, strides = self.o2f_flatten(
                cls_scores, bbox_preds, centernesses)
            assign_results = self.o2f_assign(scores, pred_boxes, points, strides,
                                             batch_gt_instances, batch_gt_instances_ignore)
            return self.o2f_loss(scores, pred_boxes, points, assign_results, batch_gt_instances)


@MODELS.register_module()
class O2FHead(O2FHeadMixin, NMSSwitchMixin, FCOSHead):
    """FCOS-o2f head: o2f training (:class:`O2FHeadMixin`) and NMS-free inference.

    Inference ranks by the joint score ``p`` (no square root, as in the official code): per level
    the ``test_cfg.nms_pre`` best (point, class) entries above ``test_cfg.score_thr``, then the
    ``test_cfg.max_per_img`` best of the image. ``test_cfg.with_nms=True`` applies
    ``test_cfg.nms`` instead (for the with/without-NMS comparison).

    Example test_cfg: ``dict(nms_pre=1000, score_thr=0.05, max_per_img=100, with_nms=False,
    nms=dict(type='nms', iou_threshold=0.6))``.
    """

    def _predict_by_feat_single(self, cls_score_list: list[Tensor], bbox_pred_list: list[Tensor],
                                score_factor_list: list[Tensor], mlvl_priors: list[Tensor],
                                img_meta: dict, cfg: ConfigDict | None, rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """Boxes of one image ranked by the joint score.

        Args:
            cls_score_list (list[Tensor]): each (C, H_i, W_i) logits.
            bbox_pred_list (list[Tensor]): each (4, H_i, W_i) ltrb pixel distances.
            score_factor_list (list[Tensor]): each (1, H_i, W_i) centerness logits.
            mlvl_priors (list[Tensor]): each (H_i * W_i, 2) points.
            img_meta (dict): needs ``img_shape`` (and ``scale_factor`` when rescaling).
            cfg (ConfigDict | None): test config (None: ``self.test_cfg``).

        Returns:
            InstanceData: ``bboxes`` (K, 4), ``scores`` (K,), ``labels`` (K,), K <= max_per_img.
        """
        cfg = copy.deepcopy(self.test_cfg if cfg is None else cfg)
        score_thr = float(cfg.get('score_thr', 0.0))
        nms_pre = cfg.get('nms_pre', -1)
        # joint = sigmoid(cls) * sigmoid(ctr) <= sigmoid(cls), so an entry whose class logit is at
        # or below logit(score_thr) cannot pass the threshold: one comparison over the
        # (points x classes) logits replaces a sigmoid over all of them (most of the time here).
        logit_thr = math.log(score_thr / (1 - score_thr)) if 0 < score_thr < 1 else -math.inf
        mlvl_scores, mlvl_labels, mlvl_distances, mlvl_points = [], [], [], []
        for cls_score, bbox_pred, centerness, points in zip(
                cls_score_list, bbox_pred_list, score_factor_list, mlvl_priors, strict=True):
            cls_logits = cls_score.flatten(1)                                # (C, H*W) view
            # Points first (a max over classes), then their classes: nonzero over a (C, H*W)
            # mask would cost more than everything else here.
            point_idx = (cls_logits.amax(dim=0) > logit_thr).nonzero().squeeze(1)
            cls_logits = cls_logits[:, point_idx].T                            # (K, C)
            kept_rows, labels = (cls_logits > logit_thr).nonzero(as_tuple=True)
            point_idx = point_idx[kept_rows]
            ctr_logits = centerness.reshape(-1)
            scores = cls_logits[kept_rows, labels].sigmoid() * ctr_logits[point_idx].sigmoid()
            passing = scores > score_thr
            scores, labels, point_idx = scores[passing], labels[passing], point_idx[passing]
            # nms_pre <= 0 keeps everything (mmdet's default of -1 would drop one candidate).
            if nms_pre is not None and 0 < nms_pre < scores.numel():
                # The export's selection too: the candidates as one (1, K, 1) score table.
                scores, order, _ = nms_free_topk(scores.view(1, -1, 1), nms_pre)
                scores, order = scores[0], order[0]
                labels, point_idx = labels[order], point_idx[order]
            mlvl_scores.append(scores)
            mlvl_labels.append(labels)
            mlvl_distances.append(bbox_pred.flatten(1)[:, point_idx].T)
            mlvl_points.append(points[point_idx])
        results = InstanceData()
        results.bboxes = self.bbox_coder.decode(torch.cat(mlvl_points), torch.cat(mlvl_distances),
                                                max_shape=img_meta['img_shape'])
        results.scores = torch.cat(mlvl_scores)
        results.labels = torch.cat(mlvl_labels)
        return self._bbox_post_process(results, cfg, rescale=rescale, with_nms=with_nms,
                                       img_meta=img_meta)
