"""O2FDuplicateRateMetric: the duplicate rate of o2f_core.duplicate_rate as an mmengine metric."""

from __future__ import annotations

import pytest

torch = pytest.importorskip('torch')
pytest.importorskip('mmengine')

from o2f_core.duplicate_metric import O2FDuplicateRateMetric  # noqa: E402


def sample(pred_boxes, scores, labels, gt_boxes, gt_labels, scale=(1.0, 1.0)):
    return dict(
        pred_instances=dict(bboxes=torch.tensor(pred_boxes, dtype=torch.float32).reshape(-1, 4),
                            scores=torch.tensor(scores), labels=torch.tensor(labels)),
        gt_instances=dict(bboxes=torch.tensor(gt_boxes, dtype=torch.float32).reshape(-1, 4),
                          labels=torch.tensor(gt_labels)),
        scale_factor=scale)


# Image A (original pixels): one object of class 0 at (0, 0, 10, 10); detections:
# 0.9 on it (match), 0.8 on it again (duplicate), 0.7 on it with class 1 (no object of class 1:
# plain false positive), 0.2 on it (below 0.3: not counted).
IMAGE_A = sample([[0, 0, 10, 10], [0, 0, 10, 9], [0, 0, 10, 10], [1, 0, 10, 10]],
                 [0.9, 0.8, 0.7, 0.2], [0, 0, 1, 0], [[0, 0, 10, 10]], [0])
# Image B: the image was resized 2x, so the ground truth (20, 20, 40, 40) is (10, 10, 20, 20)
# in original pixels where the predictions live: 0.6 matches, 0.5 duplicates it.
IMAGE_B = sample([[10, 10, 20, 20], [10, 10, 20, 21]], [0.6, 0.5], [2, 2], [[20, 20, 40, 40]],
                 [2], scale=(2.0, 2.0))


def evaluate(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_rate_over_images_by_hand():
    result = evaluate(O2FDuplicateRateMetric(), [IMAGE_A, IMAGE_B])
    # counted: A 3 (0.9, 0.8, 0.7), B 2; duplicates: A 1, B 1 -> 2 / 5
    assert result == {'rate': pytest.approx(2 / 5), 'num_detections': 5, 'num_duplicates': 2}


def test_ground_truth_scaled_back_to_original_pixels():
    # Without scaling back, B's detections would overlap no object: 0 duplicates in B.
    result = evaluate(O2FDuplicateRateMetric(), [IMAGE_B])
    assert result['num_duplicates'] == 1


def test_score_and_iou_thresholds_are_used():
    result = evaluate(O2FDuplicateRateMetric(score_thr=0.75), [IMAGE_A])
    assert (result['num_detections'], result['num_duplicates']) == (2, 1)
    # (0, 0, 10, 9) overlaps the object with IoU 0.9: at iou_thr 0.95 it is a false positive
    result = evaluate(O2FDuplicateRateMetric(iou_thr=0.95), [IMAGE_A])
    assert (result['num_detections'], result['num_duplicates']) == (3, 0)


def test_bad_settings_and_missing_ground_truth():
    with pytest.raises(ValueError, match='score_thr must lie in'):
        O2FDuplicateRateMetric(score_thr=1.5)
    metric = O2FDuplicateRateMetric()
    with pytest.raises(KeyError, match='LoadAnnotations'):
        metric.process({}, [dict(pred_instances=IMAGE_A['pred_instances'])])


def test_registered_and_reachable_from_mmdet_scope():
    pytest.importorskip('mmdet')
    from mmdet.registry import METRICS

    import o2f_det  # noqa: F401  (imports o2f_core.engine, which registers the metric)

    metric = METRICS.build(dict(type='O2FDuplicateRateMetric', score_thr=0.5))
    assert isinstance(metric, O2FDuplicateRateMetric) and metric.score_thr == 0.5
