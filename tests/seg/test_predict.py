"""O2FCondInstBboxHead prediction: the authors' candidate selection, checked by hand.

The authors' ``_get_bboxes_single`` (github strongwolf/o2f, condinst_head.py) keeps, per level,
the ``nms_pre`` points with the best joint score ``max_c sigmoid(cls) * sigmoid(ctr)``, then
every (point, class) pair with ``sigmoid(cls) > score_thr``, scored by the joint score.
"""

from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip('mmdet')

from mmengine.config import ConfigDict  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

from o2f_seg.models.dense_heads import O2FCondInstBboxHead  # noqa: E402

SIZE = 64
STRIDES = (8, 16, 32, 64)
NUM_PARAMS = 169


def logit(p: float) -> float:
    return math.log(p / (1 - p))


# Stride-8 points (8 x 8, index k at x = 8 (k % 8) + 4, y = 8 (k // 8) + 4) with hand-set
# probabilities; every other (point, class) has sigmoid(cls) = 0.01 < score_thr = 0.05.
#   point : class probabilities, centerness -> joint scores
#   A = 0 : c0 0.9,           ctr 0.5  -> c0 0.45
#   B = 1 : c1 0.6,           ctr 0.99 -> c1 0.594
#   C = 2 : c2 0.1,           ctr 0.2  -> c2 0.02 (sigmoid(cls) passes 0.05, joint does not)
#   D = 9 : c0 0.8, c1 0.7,   ctr 0.9  -> c0 0.72, c1 0.63
CLASS_PROBS = {0: {0: 0.9}, 1: {1: 0.6}, 2: {2: 0.1}, 9: {0: 0.8, 1: 0.7}}
CENTERNESS = {0: 0.5, 1: 0.99, 2: 0.2, 9: 0.9}
# (point, class, joint score), best first
A0, B1, C2, D0, D1 = (0, 0, 0.45), (1, 1, 0.594), (2, 2, 0.02), (9, 0, 0.72), (9, 1, 0.63)


def head_outputs():
    """One image: (cls, bbox, centerness, params) per level, as the head's forward gives."""
    sizes = [SIZE // s for s in STRIDES]
    cls_scores = [torch.full((1, 3, n, n), logit(0.01)) for n in sizes]
    centernesses = [torch.zeros(1, 1, n, n) for n in sizes]
    for point, probs in CLASS_PROBS.items():
        for label, prob in probs.items():
            cls_scores[0][0, label].view(-1)[point] = logit(prob)
        centernesses[0][0, 0].view(-1)[point] = logit(CENTERNESS[point])
    bbox_preds = [torch.full((1, 4, n, n), 4.0) for n in sizes]  # pixels: point +- 4
    # every parameter of a point is its index within its level, to check the alignment
    param_preds = [torch.arange(n * n, dtype=torch.float).reshape(1, 1, n, n)
                   .expand(1, NUM_PARAMS, n, n).clone() for n in sizes]
    return cls_scores, bbox_preds, centernesses, param_preds


def predict(**test_cfg) -> InstanceData:
    head = O2FCondInstBboxHead(num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
                               strides=list(STRIDES), norm_cfg=None, num_params=NUM_PARAMS)
    cfg = ConfigDict(nms_pre=1000, score_thr=0.05, max_per_img=100, min_bbox_size=-1,
                     with_nms=False, nms=dict(type='nms', iou_threshold=0.6))
    cfg.update(test_cfg)
    cls_scores, bbox_preds, centernesses, param_preds = head_outputs()
    (results,) = head.predict_by_feat(cls_scores, bbox_preds, centernesses, param_preds,
                                      batch_img_metas=[dict(img_shape=(SIZE, SIZE))], cfg=cfg)
    return results


def as_triples(results: InstanceData) -> list[tuple]:
    points = results.param_preds[:, 0].long().tolist()  # each point's index in its level
    return [(point, label, pytest.approx(score, abs=1e-6)) for point, label, score in
            zip(points, results.labels.tolist(), results.scores.tolist())]


def test_threshold_on_the_class_probability_and_rank_by_the_joint_score():
    results = predict()
    # C stays although its joint score 0.02 is below 0.05: the threshold acts on sigmoid(cls)
    assert as_triples(results) == [D0, D1, B1, A0, C2]
    # boxes and dynamic filters stay with their points: A at (4, 4), B (12, 4), C (20, 4),
    # D (12, 12), each box the point +- 4 px
    assert results.bboxes.tolist() == [[8, 8, 16, 16], [8, 8, 16, 16], [8, 0, 16, 8],
                                       [0, 0, 8, 8], [16, 0, 24, 8]]
    assert results.points.tolist() == [[12, 12], [12, 12], [12, 4], [4, 4], [20, 4]]
    assert results.strides.tolist() == [8.0] * 5


def test_nms_pre_keeps_points_by_their_best_joint_score():
    # the 2 best points of each level by max_c p: D (0.72) and B (0.594); all of D's classes
    # that pass the threshold are kept, so 3 detections from 2 points
    assert as_triples(predict(nms_pre=2)) == [D0, D1, B1]


def test_joint_score_thr_switch_thresholds_and_preselects_pairs_on_the_joint_score():
    assert as_triples(predict(joint_score_thr=True)) == [D0, D1, B1, A0]  # C: 0.02 < 0.05
    assert as_triples(predict(joint_score_thr=True, nms_pre=2)) == [D0, D1]  # best 2 pairs


def test_max_per_img_keeps_the_best_joint_scores():
    assert as_triples(predict(max_per_img=2)) == [D0, D1]


def test_min_bbox_size_minus_one_keeps_degenerate_boxes():
    # zero distances give zero-size boxes: the authors' code keeps them (their masks still
    # count for mask AP); min_bbox_size=0 (mmdet's check w > 0 and h > 0) drops them all
    head = O2FCondInstBboxHead(num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
                               strides=list(STRIDES), norm_cfg=None, num_params=NUM_PARAMS)
    cls_scores, bbox_preds, centernesses, param_preds = head_outputs()
    bbox_preds = [torch.zeros_like(pred) for pred in bbox_preds]
    for min_bbox_size, expected in ((-1, 5), (0, 0)):
        cfg = ConfigDict(nms_pre=1000, score_thr=0.05, max_per_img=100, with_nms=False,
                         min_bbox_size=min_bbox_size)
        (results,) = head.predict_by_feat(cls_scores, bbox_preds, centernesses, param_preds,
                                          batch_img_metas=[dict(img_shape=(SIZE, SIZE))],
                                          cfg=cfg)
        assert len(results) == expected
