"""The test_cfg.with_nms switch on mmdet's FCOS head (the FCOS baseline)."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip('mmdet')

from mmdet.models.dense_heads import base_dense_head  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402

import o2f_det  # noqa: E402,F401
from o2f_det import NMSSwitchFCOSHead  # noqa: E402
from o2f_det.testing import format_table  # noqa: E402


def fcos_head(with_nms: bool) -> NMSSwitchFCOSHead:
    head = NMSSwitchFCOSHead(
        num_classes=2, in_channels=8, feat_channels=8, stacked_convs=1, strides=[8, 16, 32],
        norm_cfg=None, test_cfg=ConfigDict(nms_pre=1000, score_thr=0.05, max_per_img=100,
                                           with_nms=with_nms,
                                           nms=dict(type='nms', iou_threshold=0.6)))
    head.init_weights()
    return head.eval()


def fcos_outputs():
    sizes = [16, 8, 4]  # a 128 x 128 image: 336 points, 672 (point, class) entries
    generator = torch.Generator().manual_seed(0)
    cls = [torch.randn(1, 2, n, n, generator=generator) + 1.0 for n in sizes]
    reg = [torch.full((1, 4, n, n), 40.0) for n in sizes]  # 80 px boxes 8-32 px apart
    ctr = [torch.zeros(1, 1, n, n) for n in sizes]
    meta = dict(img_shape=(128, 128), ori_shape=(128, 128), scale_factor=(1.0, 1.0))
    return cls, reg, ctr, meta


def test_fcos_without_nms_keeps_100_sorted(monkeypatch):
    def no_nms(*args, **kwargs):
        raise AssertionError('NMS must not run with test_cfg.with_nms=False')

    monkeypatch.setattr(base_dense_head, 'batched_nms', no_nms)
    cls, reg, ctr, meta = fcos_outputs()
    result = fcos_head(with_nms=False).predict_by_feat(cls, reg, ctr, batch_img_metas=[meta])[0]
    assert len(result) == 100
    assert torch.all(result.scores[:-1] >= result.scores[1:])
    # FCOS scores: sigmoid(cls) * sigmoid(centerness) = sigmoid(cls) * 0.5, best 100 of all.
    expected = torch.cat([(c.sigmoid() * 0.5).flatten() for c in cls]).sort(descending=True)
    assert torch.allclose(result.scores, expected.values[:100])


def test_fcos_with_nms_calls_nms_and_switch_flips(monkeypatch):
    calls = []
    real_nms = base_dense_head.batched_nms

    def spy(*args, **kwargs):
        calls.append(1)
        return real_nms(*args, **kwargs)

    monkeypatch.setattr(base_dense_head, 'batched_nms', spy)
    cls, reg, ctr, meta = fcos_outputs()
    head = fcos_head(with_nms=True)
    with_nms = head.predict_by_feat(cls, reg, ctr, batch_img_metas=[meta])[0]
    assert calls == [1] and 0 < len(with_nms) < 100  # neighbours overlap with IoU > 0.6
    head.set_with_nms(False)
    without = head.predict_by_feat(cls, reg, ctr, batch_img_metas=[meta])[0]
    assert calls == [1] and len(without) == 100


def test_table_of_both_settings():
    table = format_table([('w/o NMS', {'coco/bbox_mAP': 0.4021, 'coco/bbox_AR@100': 0.55}),
                          ('w/ NMS', {'coco/bbox_mAP': 0.3987})])
    assert table.splitlines() == ['| NMS | AP | AR@100 |', '|---|---|---|',
                                  '| w/o NMS | 0.402 | 0.550 |', '| w/ NMS | 0.399 | - |']
    empty = format_table([('w/o NMS', {})]).splitlines()
    assert empty[-1].startswith('| w/o NMS | no metrics')


def test_caller_without_nms_wins_over_the_config(monkeypatch):
    # test_cfg.with_nms=True, but the caller (e.g. test-time augmentation, which merges first)
    # asks for no NMS: mmdet's raw candidates come back, NMS never runs.
    def no_nms(*args, **kwargs):
        raise AssertionError('NMS ran although the caller said with_nms=False')

    monkeypatch.setattr(base_dense_head, 'batched_nms', no_nms)
    cls, reg, ctr, meta = fcos_outputs()
    result = fcos_head(with_nms=True).predict_by_feat(cls, reg, ctr, batch_img_metas=[meta],
                                                      with_nms=False)[0]
    # Every (point, class) entry with sigmoid(cls) > score_thr 0.05 (mmdet's FCOS filter; all
    # levels are below nms_pre=1000 entries), independently counted here.
    expected = sum(int((c.sigmoid() > 0.05).sum()) for c in cls)
    assert len(result) == expected > 100
