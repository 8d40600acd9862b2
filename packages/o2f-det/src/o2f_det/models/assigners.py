"""The o2f and POTO assigners as mmdet ``TASK_UTILS`` plug-ins: thin adapters over ``o2f_core``.

``train_cfg.assigner = dict(type='O2FAssigner', num_ambiguous=6, alpha=0.8, center_radius=1.5,
ambiguous_weight=0.4, ranking='multiply')`` or ``dict(type='POTOAssigner', alpha=0.8,
center_radius=1.5)``. Both follow mmdet's ``assign(pred_instances, gt_instances,
gt_instances_ignore=None)`` and return an ``AssignResult`` (``gt_inds`` 1-based, 0 negative, -1
ignored) whose extra properties carry the o2f soft labels; :func:`o2f_result_from_assign_result`
turns any ``AssignResult`` (also one of mmdet's own assigners) back into the core's labels.
"""

from __future__ import annotations

import torch
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor

from o2f_core import O2FAssigner as CoreO2FAssigner
from o2f_core import O2FAssignResult
from o2f_core import POTOAssigner as CorePOTOAssigner
from o2f_core.assigner import aligned_iou

__all__ = ['O2FTaskAssigner', 'POTOTaskAssigner', 'o2f_result_from_assign_result',
           'points_and_strides']

# Extra properties of the AssignResult, each (num_points,): the core result's fields.
EXTRA_FIELDS = ('soft_targets', 'weights', 'certain')


def points_and_strides(pred_instances: InstanceData, owner: str) -> tuple[Tensor, Tensor]:
    """Points (N, 2) and strides (N,) from ``priors`` (N, 4) (x, y, stride_w, stride_h), as
    mmdet's ``grid_priors(..., with_stride=True)`` gives them, or ``priors`` (N, 2) + ``strides``.
    """
    priors = pred_instances.priors
    if priors.size(-1) == 4:
        return priors[:, :2], priors[:, 2]
    if 'strides' in pred_instances:
        return priors, pred_instances.strides
    raise ValueError(f'{owner}: pred_instances needs priors (N, 4) with strides or priors '
                     f'(N, 2) plus strides (N,)')


class _CoreAssignerAdapter(BaseAssigner):
    """mmdet's assigner interface over a core assigner (``self.core``) of one image.

    ``pred_instances`` fields, all (N, ...): ``priors`` (N, 2) xy points plus ``strides`` (N,),
    or ``priors`` (N, 4) as mmdet's ``grid_priors(..., with_stride=True)`` gives them (x, y,
    stride_w, stride_h); ``scores`` (N, C) joint probabilities; ``bboxes`` (N, 4) decoded xyxy.
    ``gt_instances``: ``bboxes`` (M, 4), ``labels`` (M,), optional ``centers`` (M, 2) (centres of
    the candidate squares, e.g. mask centres of mass) and ``quality`` (M, N) (replaces the box IoU
    in the ranking, e.g. a mask IoU). ``gt_instances_ignore``: optional ``bboxes`` (I, 4).
    """

    core_cls: type = CoreO2FAssigner

    def __init__(self, **kwargs) -> None:
        self.core = self.core_cls(**kwargs)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.core!r})'

    def candidate_mask(self, points: Tensor, strides: Tensor, gt_boxes: Tensor,
                       gt_centers: Tensor) -> Tensor:
        """bool (M, N): the candidate squares (the seg head predicts masks only there)."""
        return self.core.candidate_mask(points, strides, gt_boxes, gt_centers)

    def temperature(self, temperature: float | None) -> float | None:
        """T for the core's ``assign`` (None where the assigner does not use T)."""
        return temperature

    def assign(self, pred_instances: InstanceData, gt_instances: InstanceData,
               gt_instances_ignore: InstanceData | None = None,
               temperature: float | None = None, **kwargs) -> AssignResult:
        """Label the N points of one image.

        Args:
            pred_instances, gt_instances, gt_instances_ignore: see the class docstring.
            temperature (float, optional): T of the current epoch (o2f; set by the head from
                ``O2FTemperatureHook``).

        Returns:
            AssignResult: ``gt_inds`` (N,) 1-based object index, 0 negative, -1 ignored;
            ``labels`` (N,) class or -1; ``max_overlaps`` (N,) the overlap (IoU or ``quality``)
            of each labelled point with its object, 0 elsewhere; extra properties
            ``soft_targets``, ``weights`` (float) and ``certain`` (bool), each (N,).
        """
        points, strides = points_and_strides(pred_instances, type(self).__name__)
        gt_boxes = get_box_tensor(gt_instances.bboxes)
        ignore_boxes = None
        if gt_instances_ignore is not None and 'bboxes' in gt_instances_ignore:
            ignore_boxes = get_box_tensor(gt_instances_ignore.bboxes)
        quality = gt_instances.get('quality', None)
        result = self.core.assign(
            pred_instances.scores, get_box_tensor(pred_instances.bboxes), points, strides,
            gt_boxes, gt_instances.labels, self.temperature(temperature),
            gt_centers=gt_instances.get('centers', None), ignore_boxes=ignore_boxes,
            quality=quality)
        labelled = result.labelled.nonzero(as_tuple=True)[0]
        overlaps = torch.zeros_like(result.soft_targets)
        if labelled.numel():
            gt_idx = result.assigned_gt[labelled]
            overlaps[labelled] = (
                quality[gt_idx, labelled].float() if quality is not None else
                aligned_iou(gt_boxes[gt_idx].float(),
                            get_box_tensor(pred_instances.bboxes)[labelled].float()))
        gt_inds = torch.where(result.labelled, result.assigned_gt + 1,
                              torch.where(result.ignored, -1, 0))
        assign_result = AssignResult(len(gt_boxes), gt_inds, overlaps, labels=result.labels)
        for field in EXTRA_FIELDS:
            assign_result.set_extra_property(field, getattr(result, field))
        return assign_result


@TASK_UTILS.register_module(name='O2FAssigner')
class O2FTaskAssigner(_CoreAssignerAdapter):
    """One-to-few assignment (:class:`o2f_core.O2FAssigner`), registered as ``'O2FAssigner'``.

    Args: ``num_ambiguous``, ``alpha``, ``center_radius``, ``ambiguous_weight``, ``ranking``
    (``'multiply'`` or ``'add'``), as the core's.
    """

    core_cls = CoreO2FAssigner

    def temperature(self, temperature: float | None) -> float:
        if temperature is None:
            raise ValueError('O2FAssigner: the temperature T is not set; train with '
                             "custom_hooks=[dict(type='O2FTemperatureHook', t_max=0.6, "
                             "t_min=0.2)] (or call head.set_temperature(T) first)")
        return temperature


@TASK_UTILS.register_module(name='POTOAssigner')
class POTOTaskAssigner(_CoreAssignerAdapter):
    """POTO one-to-one matching (:class:`o2f_core.POTOAssigner`), registered as ``'POTOAssigner'``.

    Args: ``alpha``, ``center_radius``, ``ranking``, as the core's. T is not used.
    """

    core_cls = CorePOTOAssigner

    def temperature(self, temperature: float | None) -> None:
        return None


def o2f_result_from_assign_result(assign_result: AssignResult) -> O2FAssignResult:
    """The core's per-point labels from an mmdet ``AssignResult`` (all fields (N,)).

    Missing extra properties (an mmdet assigner such as ATSS) mean hard labels: target 1,
    weight 1 and certain for every positive.
    """
    gt_inds = assign_result.gt_inds
    labelled = gt_inds > 0
    hard = labelled.float()
    extras = {field: assign_result.get_extra_property(field) for field in EXTRA_FIELDS}
    return O2FAssignResult(
        assigned_gt=torch.where(labelled, gt_inds - 1, -1).long(),
        labels=torch.where(labelled, assign_result.labels, -1).long(),
        soft_targets=hard if extras['soft_targets'] is None else extras['soft_targets'],
        weights=hard if extras['weights'] is None else extras['weights'],
        certain=labelled if extras['certain'] is None else extras['certain'],
        ignored=gt_inds < 0)
