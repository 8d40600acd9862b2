"""O2FHead's NMS-free post-process against a dense route through mmdet's own filter."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip('mmdet')
from mmdet.models.utils import filter_scores_and_topk  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402

import o2f_det  # noqa: E402,F401  (registers the heads)
from o2f_det import O2FHead  # noqa: E402


@pytest.mark.parametrize('nms_pre', [7, 1000, -1])
def test_logit_prefilter_matches_dense_sigmoid_filter(nms_pre):
    torch.manual_seed(3)
    head = O2FHead(num_classes=4, in_channels=8, feat_channels=8, stacked_convs=1,
                   strides=[8, 16], norm_cfg=None, norm_on_bbox=True, centerness_on_reg=True,
                   test_cfg=ConfigDict(nms_pre=nms_pre, score_thr=0.05, max_per_img=30,
                                       with_nms=False))
    sizes = [(12, 10), (6, 5)]
    # Logits around the threshold so that many entries fall on either side of it.
    cls = [torch.randn(4, h, w) * 2 - 2 for h, w in sizes]
    box = [torch.rand(4, h, w) * 20 for h, w in sizes]
    ctr = [torch.randn(1, h, w) for h, w in sizes]
    priors = head.prior_generator.grid_priors(sizes, device='cpu')
    meta = dict(img_shape=(96, 80))
    result = head._predict_by_feat_single(cls, box, ctr, priors, meta, None, with_nms=True)

    # Dense route: sigmoid of everything, mmdet's threshold + top-k per level, top 30 overall.
    dense_scores, dense_boxes, dense_labels = [], [], []
    for c, b, t, p in zip(cls, box, ctr, priors):
        joint = c.permute(1, 2, 0).reshape(-1, 4).sigmoid() * t.reshape(-1, 1).sigmoid()
        k = joint.numel() if nms_pre <= 0 else nms_pre
        scores, labels, _, kept = filter_scores_and_topk(
            joint, 0.05, k, dict(d=b.permute(1, 2, 0).reshape(-1, 4), p=p))
        dense_scores.append(scores)
        dense_labels.append(labels)
        dense_boxes.append(head.bbox_coder.decode(kept['p'], kept['d'], max_shape=(96, 80)))
    scores = torch.cat(dense_scores)
    order = scores.argsort(descending=True)[:30]
    assert len(result) == min(30, len(scores)) > 10
    torch.testing.assert_close(result.scores, scores[order])
    torch.testing.assert_close(result.bboxes, torch.cat(dense_boxes)[order])
    assert result.labels.tolist() == torch.cat(dense_labels)[order].tolist()
