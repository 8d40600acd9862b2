"""The duplicate rate (:mod:`o2f_core.duplicate_rate`) as an mmengine metric for det, seg, crowd.

``val_evaluator = [dict(type='CocoMetric', ...), dict(type='O2FDuplicateRateMetric')]`` adds

* ``duplicate/rate``: duplicates / detections scoring >= ``score_thr`` (default 0.3), summed over
  the dataset (see :func:`o2f_core.duplicate_rate.count_duplicates`);
* ``duplicate/num_detections`` and ``duplicate/num_duplicates``: the two counts.

With :class:`o2f_core.dual_nms.O2FDualNMSValLoop` the copy for the NMS run reports them as
``nms/duplicate/...``. The ground truth comes from each sample's ``gt_instances`` (the test
pipeline must load annotations: ``LoadAnnotations``), scaled back to the original image like the
predictions (``scale_factor``); ``ignored_instances`` (COCO ``iscrowd``, CrowdHuman ignore
regions) are not objects. Registered in mmengine's METRICS, reachable from the ``mmdet`` scope;
imports only mmengine, numpy and torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from .duplicate_rate import DEFAULT_IOU_THR, DEFAULT_SCORE_THR, DuplicateCount, count_duplicates

__all__ = ['O2FDuplicateRateMetric']


def _numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _boxes(instances) -> np.ndarray:
    boxes = instances.get('bboxes') if isinstance(instances, dict) else instances.bboxes
    boxes = getattr(boxes, 'tensor', boxes)  # mmdet's HorizontalBoxes
    return _numpy(boxes).reshape(-1, 4).astype(np.float64)


@METRICS.register_module()
class O2FDuplicateRateMetric(BaseMetric):
    """Fraction of confident detections that repeat an already detected object.

    Args:
        score_thr (float): detections scoring below it are not counted (default 0.3).
        iou_thr (float): IoU at which a detection overlaps an object of its class.
        collect_device (str): as mmengine's ``BaseMetric``.
        prefix (str, optional): metric name prefix; default ``'duplicate'``.
    """

    default_prefix = 'duplicate'

    def __init__(self, score_thr: float = DEFAULT_SCORE_THR, iou_thr: float = DEFAULT_IOU_THR,
                 collect_device: str = 'cpu', prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0.0 <= score_thr <= 1.0 or not 0.0 < iou_thr <= 1.0:
            raise ValueError(f'O2FDuplicateRateMetric: score_thr must lie in [0, 1] and iou_thr '
                             f'in (0, 1], got score_thr={score_thr}, iou_thr={iou_thr}')
        self.score_thr, self.iou_thr = float(score_thr), float(iou_thr)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Count each image's duplicates (predictions and ground truth in original pixels)."""
        for sample in data_samples:
            if 'gt_instances' not in sample:
                raise KeyError('O2FDuplicateRateMetric: the samples have no gt_instances; add '
                               "dict(type='LoadAnnotations', with_bbox=True) to the test pipeline")
            pred, gt = sample['pred_instances'], sample['gt_instances']
            gt_boxes = _boxes(gt)
            scale = sample.get('scale_factor')
            if scale is not None and len(gt_boxes):  # gt follow the resized image: scale back
                w_scale, h_scale = float(scale[0]), float(scale[1])
                gt_boxes = gt_boxes / np.array([w_scale, h_scale, w_scale, h_scale])
            count = count_duplicates(_boxes(pred), _numpy(pred['scores']),
                                     _numpy(pred['labels']), gt_boxes, _numpy(gt['labels']),
                                     score_thr=self.score_thr, iou_thr=self.iou_thr)
            self.results.append((count.num_detections, count.num_duplicates))

    def compute_metrics(self, results: list) -> dict:
        total = sum((DuplicateCount(*pair) for pair in results), DuplicateCount())
        return {'rate': total.rate, 'num_detections': total.num_detections,
                'num_duplicates': total.num_duplicates}
