"""FCOS with one-to-few label assignment (the paper's detector, Fig. 3 and Eq. 1-5).

The o2f training logic sits in :class:`O2FHeadMixin` as small reusable methods on flat per-image
tensors (flatten -> assign -> loss), so the segmentation head (a CondInst subclass) reuses it
through hook methods. The assigner (``train_cfg.assigner``, mmdet ``TASK_UTILS``), the losses
(``loss_cls``, ``loss_bbox``) and the centerness branch (``centerness_branch``) are registered
plug-ins. :class:`O2FHead` combines the mixin with mmdet's ``FCOSHead`` and an NMS-free
post-process.
"""

from __future__ import annotations

import copy
import math

import torch
from mmdet.models.dense_heads import AnchorFreeHead, FCOSHead
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import InstanceList, OptInstanceList, reduce_mean
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from o2f_core import O2FAssignResult

from .assigners import o2f_result_from_assign_result
from .centerness_branch import O2FCenternessBranch
from .losses import O2FGIoULoss, O2FSoftFocalLoss
from .nms_free_topk import nms_free_topk
from .nms_switch import NMSSwitchMixin

# Keys accepted in the head's train_cfg (a typo should fail loudly, not fall back to a default).
TRAIN_CFG_KEYS = ('assigner', 'exclude_ignore_regions')
# Former train_cfg keys and where they live now (refused with this hint).
MOVED_TRAIN_CFG_KEYS = {
    'centerness_weighting': 'model.bbox_head.loss_bbox.centerness_weighting',
    'loss_cls_weight': 'model.bbox_head.loss_cls.loss_weight',
    'loss_bbox_weight': 'model.bbox_head.loss_bbox.loss_weight',
}
# FCOSHead arguments the o2f head does not use: refused when given, instead of built and ignored.
UNUSED_HEAD_ARGS = {
    'loss_centerness': 'there is no centerness loss: centerness is learned through the joint '
                       'score p = sigmoid(cls) * sigmoid(ctr)',
    'regress_ranges': 'every FPN level takes part; candidates come from '
                      'train_cfg.assigner.center_radius',
    'center_sampling': 'candidates come from train_cfg.assigner.center_radius',
    'center_sample_radius': 'set train_cfg.assigner.center_radius instead',
    'temperature': 'T comes from one place, O2FTemperatureHook in custom_hooks (t_max, t_min; '
                   't_max == t_min for a constant T)',
}
DEFAULT_ASSIGNER = 'O2FAssigner'  # a train_cfg.assigner without type (older configs)
DEFAULT_CENTERNESS_BRANCH = dict(type='O2FCenternessBranch', num_convs=3, channels=64)
# Keeps box_sum / weight_sum finite when no point of the batch is labelled (both are 0 then).
WEIGHT_SUM_EPS = torch.finfo(torch.float32).tiny


def _registered_class(cfg: dict, registry=MODELS):
    """The class a ``dict(type=...)`` config would build (None if unknown)."""
    kind = cfg.get('type')
    return registry.get(kind) if isinstance(kind, str) else kind


class O2FHeadMixin:
    """One-to-few training for FCOS-style heads (mix in before an ``FCOSHead`` subclass).

    Trains on the joint score ``p = sigmoid(cls) * sigmoid(ctr)`` with targets from the
    ``train_cfg.assigner`` (centre region ``center_radius * stride`` on every level; FCOS
    regress ranges are not used). There is no separate centerness loss: centerness is learned
    through ``p``, as in the official code.

    Config (all optional; defaults are the official recipe)::

        bbox_head=dict(
            type='O2FHead', ...,
            centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=64),
            loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0,
                          loss_weight=1.0),
            loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=True, loss_weight=2.0)),
        train_cfg=dict(assigner=dict(type='O2FAssigner', num_ambiguous=6, alpha=0.8,
                                     center_radius=1.5, ambiguous_weight=0.4,
                                     ranking='multiply'))

    ``train_cfg.assigner`` is built from mmdet's ``TASK_UTILS`` (``O2FAssigner`` when it has no
    ``type``; ``POTOAssigner`` gives the POTO baseline); an mmdet assigner that returns hard labels
    also works. T (the largest ambiguous target) is set only by ``O2FTemperatureHook`` through
    :meth:`set_temperature`; an o2f loss before that fails with a clear message.

    FCOSHead arguments the head does not use (``loss_centerness``, ``regress_ranges``,
    ``center_sampling``, ``center_sample_radius``) and losses of other types are refused.

    Args:
        centerness_branch (dict): a ``MODELS`` config of the branch mapping the regression (or
            classification) features to centerness logits.
        num_ctr_convs, ctr_conv_channels (int): shorthand for ``centerness_branch``'s
            ``num_convs`` and ``channels`` (they override it).
    """

    # train_cfg keys this head reads (a subclass that reads more extends the tuple)
    o2f_train_cfg_keys: tuple[str, ...] = TRAIN_CFG_KEYS

    def __init__(self, *args, centerness_branch: dict | None = None,
                 num_ctr_convs: int | None = None, ctr_conv_channels: int | None = None,
                 **kwargs) -> None:
        name = type(self).__name__
        for key, why in UNUSED_HEAD_ARGS.items():
            if key in kwargs:
                raise ValueError(f'{name}: {key} is not used by the o2f head ({why}); remove it '
                                 f'from model.bbox_head')
        for key, wanted in (('loss_cls', O2FSoftFocalLoss), ('loss_bbox', O2FGIoULoss)):
            cfg = dict(kwargs.get(key) or dict(type=wanted.__name__))
            cls = _registered_class(cfg)
            if not (isinstance(cls, type) and issubclass(cls, wanted)):
                raise ValueError(f'{name}: {key} of type {cfg.get("type")!r} is not used by the '
                                 f'o2f head; use dict(type={wanted.__name__!r}, ...) (its '
                                 f'arguments set the o2f loss)')
            if key == 'loss_cls':  # mmdet sizes the class output from use_sigmoid
                cfg.setdefault('use_sigmoid', True)
            kwargs[key] = cfg
        # Keys without a type (e.g. --cfg-options model.bbox_head.centerness_branch.num_convs=2)
        # amend the default branch; a type of its own replaces it.
        given = dict(centerness_branch or {})
        branch = given if given.get('type', DEFAULT_CENTERNESS_BRANCH['type']) != \
            DEFAULT_CENTERNESS_BRANCH['type'] else {**DEFAULT_CENTERNESS_BRANCH, **given}
        if (num_ctr_convs, ctr_conv_channels) != (None, None) and \
                branch.get('type') != DEFAULT_CENTERNESS_BRANCH['type']:
            raise ValueError(f'{name}: num_ctr_convs/ctr_conv_channels set an '
                             f'O2FCenternessBranch, not a {branch.get("type")!r}; set its '
                             f'arguments in centerness_branch instead')
        if num_ctr_convs is not None:
            branch['num_convs'] = num_ctr_convs
        if ctr_conv_channels is not None:
            branch['channels'] = ctr_conv_channels
        self.centerness_branch_cfg = branch  # read by _init_layers, which FCOSHead calls
        super().__init__(*args, **kwargs)
        train_cfg = dict(self.train_cfg or {})
        for key, place in MOVED_TRAIN_CFG_KEYS.items():
            if key in train_cfg:
                raise ValueError(f'{name}: train_cfg.{key} has moved to {place}')
        unknown = sorted(set(train_cfg) - set(self.o2f_train_cfg_keys))
        if unknown:
            raise ValueError(f'{name}: unknown train_cfg keys {unknown}; '
                             f'allowed: {list(self.o2f_train_cfg_keys)}')
        self.assigner = self.build_assigner(dict(train_cfg.get('assigner') or {}))
        # The authors' head never reads ignore regions (COCO iscrowd, CrowdHuman ignore tags):
        # their points train as negatives. True keeps unlabelled points inside them out of the
        # negatives (our deviation, off by default; see the README's recipe table).
        self.exclude_ignore_regions = bool(train_cfg.get('exclude_ignore_regions', False))
        self.temperature: float | None = None

    # ----------------------------------------------------------------------------- layers
    def _init_layers(self) -> None:
        """FCOS layers, with ``conv_centerness`` replaced by the configured centerness branch.

        FCOSHead's own ``forward_single`` runs unchanged (it calls ``self.conv_centerness``).
        """
        super()._init_layers()
        cfg = dict(in_channels=self.feat_channels, conv_cfg=self.conv_cfg,
                   norm_cfg=self.norm_cfg, conv_bias=self.conv_bias)
        cfg.update(self.centerness_branch_cfg)
        if _registered_class(cfg) is None:
            raise ValueError(f'{type(self).__name__}: centerness_branch type {cfg.get("type")!r} '
                             f'is not registered in mmdet MODELS (e.g. '
                             f'{O2FCenternessBranch.__name__!r})')
        self.conv_centerness = MODELS.build(cfg)

    # ----------------------------------------------------------------------------- T
    def set_temperature(self, temperature: float | None) -> None:
        """Set T, the soft target of the best ambiguous anchor (called by O2FTemperatureHook).

        None unsets it (e.g. to restore a head's state after a look at its labels).
        """
        self.temperature = None if temperature is None else float(temperature)

    def build_assigner(self, assigner_cfg: dict):
        """The per-image assigner from ``TASK_UTILS`` (no ``type``: ``O2FAssigner``)."""
        assigner_cfg.setdefault('type', DEFAULT_ASSIGNER)
        if _registered_class(assigner_cfg, TASK_UTILS) is None:
            raise ValueError(f'{type(self).__name__}: train_cfg.assigner type '
                             f'{assigner_cfg["type"]!r} is not registered in mmdet TASK_UTILS '
                             f"(o2f: 'O2FAssigner', 'POTOAssigner')")
        return TASK_UTILS.build(assigner_cfg)

    # ----------------------------------------------------------------------------- hooks
    def o2f_gt_centers(self, gt_instances: InstanceData) -> Tensor | None:
        """Centres (M, 2) of an image's candidate squares; None = box centres (override me)."""
        return None

    def o2f_quality(self, img_id: int, gt_instances: InstanceData, gt_centers: Tensor | None,
                    points: Tensor, strides: Tensor, **context) -> Tensor | None:
        """(M, N) overlap replacing the box IoU in the ranking; None = box IoU (override me).

        ``context`` holds the extra keyword arguments given to :meth:`o2f_loss_by_feat`.
        """
        return None

    def o2f_active_assigner(self):
        """The assigner of this training step (override me: Hybrid-Epoch switches it)."""
        return self.assigner

    def o2f_after_assign(self, cls_scores: list[Tensor], centernesses: list[Tensor],
                         points: Tensor, strides: Tensor,
                         assign_results: list[O2FAssignResult], **context) -> None:
        """Called after the losses with the batch's labels (the seg head keeps its positives)."""

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
        # mmdet's point-prior layout (x, y, stride_w, stride_h), as mmdet's own assigners take it.
        priors = torch.cat([points, strides[:, None], strides[:, None]], dim=1)      # (N, 4)
        assigner = self.o2f_active_assigner()
        results = []
        for img_idx, gt_instances in enumerate(batch_gt_instances):
            ignored = None
            if batch_gt_instances_ignore is not None and self.exclude_ignore_regions:
                ignored = batch_gt_instances_ignore[img_idx]
                if ignored is not None and ('bboxes' not in ignored or len(ignored) == 0):
                    ignored = None
                if ignored is not None:
                    ignored = InstanceData(bboxes=get_box_tensor(ignored.bboxes).detach())
            gts = InstanceData(bboxes=get_box_tensor(gt_instances.bboxes).detach().float(),
                               labels=gt_instances.labels)
            centers = None if batch_gt_centers is None else batch_gt_centers[img_idx]
            quality = None if batch_quality is None else batch_quality[img_idx]
            if centers is not None:
                gts.centers = centers
            if quality is not None:
                gts.quality = quality
            preds = InstanceData(priors=priors, scores=scores[img_idx].detach(),
                                 bboxes=pred_boxes[img_idx].detach())
            assign_result = assigner.assign(preds, gts, ignored,
                                                 temperature=self.temperature)
            results.append(o2f_result_from_assign_result(assign_result))
        return results

    def o2f_loss(self, scores: Tensor, pred_boxes: Tensor, points: Tensor,
                 assign_results: list[O2FAssignResult],
                 batch_gt_instances: InstanceList) -> dict[str, Tensor]:
        """Paper Eq. 4-5 with the batch normalisation of the official code.

        ``loss_cls = loss_cls.loss_weight * sum(soft focal) / max(#labelled, 1)``,
        ``loss_bbox = loss_bbox.loss_weight * sum(w * (1 - GIoU)) / sum(w)``, both counts
        averaged over processes under DDP. With no labelled point in the batch the box loss is
        exactly 0 (and still has a gradient path, so DDP sees every parameter used).

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
            cls_sum = cls_sum + self.loss_cls(scores[img_idx], result)
            img_box_sum, img_weight_sum = self.loss_bbox(pred_boxes[img_idx], gt_boxes, points,
                                                         result)
            box_sum = box_sum + img_box_sum
            weight_sum = weight_sum + img_weight_sum
            num_labelled += result.num_labelled
        # Both normalisers are averaged over processes (reduce_mean), as in the official code.
        cls_norm = reduce_mean(scores.new_tensor(float(num_labelled))).clamp(min=1.0)
        box_norm = reduce_mean(weight_sum.detach()).clamp(min=WEIGHT_SUM_EPS)
        return dict(loss_cls=cls_sum / cls_norm, loss_bbox=box_sum / box_norm)

    def loss_by_feat(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                     centernesses: list[Tensor], batch_gt_instances: InstanceList,
                     batch_img_metas: list[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict[str, Tensor]:
        """o2f losses from the head outputs (same positional order as ``FCOSHead``).

        Returns:
            dict: ``loss_cls`` and ``loss_bbox``.
        """
        return self.o2f_loss_by_feat(cls_scores, bbox_preds, centernesses, batch_gt_instances,
                                     batch_gt_instances_ignore)

    def o2f_loss_by_feat(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                         centernesses: list[Tensor], batch_gt_instances: InstanceList,
                         batch_gt_instances_ignore: OptInstanceList = None,
                         **context) -> dict[str, Tensor]:
        """flatten -> assign -> loss, with the hooks a subclass overrides.

        ``o2f_gt_centers`` and ``o2f_quality`` feed the assigner, ``o2f_after_assign`` sees the
        labels; ``context`` (e.g. the seg head's ``param_preds``) is passed to the last two.

        Returns:
            dict: ``loss_cls`` and ``loss_bbox`` (see :meth:`o2f_loss`).
        """
        # BCE on probabilities must run in float32 (autocast would run it in fp16).
        with torch.autocast(device_type=cls_scores[0].device.type, enabled=False):
            scores, pred_boxes, points, strides = self.o2f_flatten(
                cls_scores, bbox_preds, centernesses)
            centers = [self.o2f_gt_centers(gt) for gt in batch_gt_instances]
            quality = [self.o2f_quality(img_id, gt, img_centers, points, strides, **context)
                       for img_id, (gt, img_centers)
                       in enumerate(zip(batch_gt_instances, centers, strict=True))]
            assign_results = self.o2f_assign(
                scores, pred_boxes, points, strides, batch_gt_instances,
                batch_gt_instances_ignore, centers, quality)
            losses = self.o2f_loss(scores, pred_boxes, points, assign_results,
                                   batch_gt_instances)
        self.o2f_after_assign(cls_scores, centernesses, points, strides, assign_results,
                              **context)
        return losses


@MODELS.register_module()
class O2FHead(O2FHeadMixin, NMSSwitchMixin, FCOSHead):
    """FCOS-o2f head: o2f training (:class:`O2FHeadMixin`) and NMS-free inference.

    Inference ranks by the joint score ``p`` (no square root, as in the official code): per level
    the ``test_cfg.nms_pre`` best (point, class) entries above ``test_cfg.score_thr``, then the
    ``test_cfg.max_per_img`` best of the image. ``test_cfg.with_nms=True`` applies
    ``test_cfg.nms`` instead (for the with/without-NMS comparison).

    Example test_cfg: ``dict(nms_pre=1000, score_thr=0.05, max_per_img=100, with_nms=False,
    nms=dict(type='nms', iou_threshold=0.6))``.

    A centerness branch with ``cross_level = True`` (e.g. DeFCN's 3D max filter,
    :class:`O2FMaxFilter3D`) maps the towers' features of all levels at once; :meth:`forward`
    then runs it after the per-level towers.
    """

    def forward(self, x: tuple[Tensor, ...]) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
        """FCOSHead's forward; with a cross-level branch, its logits from all levels together.

        Args:
            x (tuple[Tensor]): FPN features, each (B, in_channels, H_i, W_i).

        Returns:
            tuple: ``cls_scores`` each (B, C, H_i, W_i), ``bbox_preds`` each (B, 4, H_i, W_i),
            ``centernesses`` each (B, 1, H_i, W_i) logits.
        """
        if not getattr(self.conv_centerness, 'cross_level', False):
            return super().forward(x)
        cls_scores, bbox_preds, branch_feats = [], [], []
        for feat, scale, stride in zip(x, self.scales, self.strides, strict=True):
            # the towers of AnchorFreeHead; box scaling as FCOSHead.forward_single
            cls_score, bbox_pred, cls_feat, reg_feat = AnchorFreeHead.forward_single(self, feat)
            bbox_pred = scale(bbox_pred).float()
            if self.norm_on_bbox:
                bbox_pred = bbox_pred.clamp(min=0)
                if not self.training:
                    bbox_pred = bbox_pred * stride
            else:
                bbox_pred = bbox_pred.exp()
            cls_scores.append(cls_score)
            bbox_preds.append(bbox_pred)
            branch_feats.append(reg_feat if self.centerness_on_reg else cls_feat)
        return cls_scores, bbox_preds, self.conv_centerness(branch_feats)

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
