"""O2FHead: layers, o2f loss (against the official code's numbers), gradients, NMS-free predict."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

pytest.importorskip('mmdet')

from mmdet.models.dense_heads import base_dense_head  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

import o2f_det  # noqa: E402,F401  (registers the heads)
from o2f_det import O2FHead  # noqa: E402

WORKED_EXAMPLE = Path(__file__).resolve().parents[1] / 'data/o2f_worked_example/single_object.pt'
OFFICIAL_TRAIN_CFG = dict(
    assigner=dict(num_ambiguous=6, alpha=0.8, center_radius=1.5, ambiguous_weight=0.4),
    centerness_weighting=True, loss_cls_weight=1.0, loss_bbox_weight=2.0)
PAPER_TRAIN_CFG = dict(OFFICIAL_TRAIN_CFG,
                       assigner=dict(num_ambiguous=7, alpha=0.8, center_radius=1.5,
                                     ambiguous_weight=1.0))
TEST_CFG = dict(nms_pre=1000, score_thr=0.05, max_per_img=100, with_nms=False,
                nms=dict(type='nms', iou_threshold=0.6))


def make_head(num_classes=3, strides=(8, 16, 32), train_cfg=None, **kwargs) -> O2FHead:
    head = O2FHead(num_classes=num_classes, in_channels=8, feat_channels=8, stacked_convs=1,
                   strides=list(strides), norm_cfg=None, norm_on_bbox=True,
                   centerness_on_reg=True, conv_bias=True,
                   train_cfg=ConfigDict(train_cfg or OFFICIAL_TRAIN_CFG),
                   test_cfg=ConfigDict(TEST_CFG), **kwargs)
    head.init_weights()
    return head


def two_image_batch(size=64):
    """Features of a 2-image batch: image 0 has two objects, image 1 none."""
    feats = tuple(torch.randn(2, 8, size // s, size // s) for s in (8, 16, 32))
    gts = [InstanceData(bboxes=torch.tensor([[4.0, 6.0, 40.0, 50.0], [30.0, 20.0, 60.0, 44.0]]),
                        labels=torch.tensor([0, 2])),
           InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))]
    metas = [dict(img_shape=(size, size), pad_shape=(size, size), batch_input_shape=(size, size),
                  scale_factor=(1.0, 1.0))] * 2
    return feats, gts, metas


def test_extra_centerness_convs_and_argument_checks():
    head = make_head(num_ctr_convs=2)
    convs = head.conv_centerness.ctr_convs
    assert len(convs) == 2
    assert [c.conv.out_channels for c in convs] == [64, 64]
    assert convs[0].conv.kernel_size == (3, 3) and convs[0].conv.in_channels == 8
    assert head.conv_centerness.predictor.in_channels == 64
    assert len(make_head().conv_centerness.ctr_convs) == 3  # default
    with pytest.raises(ValueError, match='num_ctr_convs'):
        make_head(num_ctr_convs=4)
    with pytest.raises(ValueError, match='unknown train_cfg keys'):
        make_head(train_cfg=dict(OFFICIAL_TRAIN_CFG, centreness_weighting=False))


def test_temperature_is_set_by_method():
    head = make_head()
    assert head.temperature == pytest.approx(0.6)
    head.set_temperature(0.25)
    assert head.temperature == 0.25


def test_loss_backward_on_batch_with_an_empty_image():
    head = make_head()
    feats, gts, metas = two_image_batch()
    outs = head(feats)
    losses = head.loss_by_feat(*outs, gts, metas)
    assert set(losses) == {'loss_cls', 'loss_bbox'}
    total = losses['loss_cls'] + losses['loss_bbox']
    assert torch.isfinite(total) and losses['loss_cls'] > 0 and losses['loss_bbox'] > 0
    total.backward()
    for name, param in [('conv_cls', head.conv_cls.weight), ('conv_reg', head.conv_reg.weight),
                        ('ctr conv 0', head.conv_centerness.ctr_convs[0].conv.weight),
                        ('ctr predictor', head.conv_centerness.predictor.weight)]:
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_targets_carry_no_gradient():
    head = make_head()
    feats, gts, metas = two_image_batch()
    scores, boxes, points, strides = head.o2f_flatten(*head(feats))
    assert scores.requires_grad and boxes.requires_grad
    results = head.o2f_assign(scores, boxes, points, strides, gts)
    assert results[0].num_labelled > 0 and results[1].num_labelled == 0
    for result in results:
        for field in ('soft_targets', 'weights'):
            assert not getattr(result, field).requires_grad


def test_batch_without_objects_gives_zero_box_loss_with_gradient_path():
    head = make_head()
    feats, gts, metas = two_image_batch()
    losses = head.loss_by_feat(*head(feats), [gts[1], gts[1]], metas)
    assert losses['loss_bbox'].item() == 0.0 and losses['loss_bbox'].requires_grad
    # Only negatives: loss_cls = sum 0.75 p^2 BCE(p, 0) over all entries, / max(0, 1).
    scores, *_ = head.o2f_flatten(*head(feats))
    expected = (0.75 * scores.pow(2) * -torch.log1p(-scores)).sum()
    assert losses['loss_cls'].item() == pytest.approx(expected.item(), rel=1e-5)


def test_points_are_cell_centres():
    head = make_head(strides=(8, 16, 32, 64, 128))
    cls = [torch.zeros(1, 3, n, n) for n in (52, 26, 13, 7, 4)]
    _, _, points, strides = head.o2f_flatten(cls, [torch.zeros(1, 4, n, n) for n in
                                                   (52, 26, 13, 7, 4)],
                                             [torch.zeros(1, 1, n, n) for n in (52, 26, 13, 7, 4)])
    assert points.shape == (3614, 2)
    assert points[0].tolist() == [4.0, 4.0] and points[1].tolist() == [12.0, 4.0]
    assert points[-1].tolist() == [448.0, 448.0] and strides[-1] == 128  # (3 + 0.5) * 128


def worked_example_head_inputs(example):
    """The official example's flat tensors as FCOS head outputs (norm_on_bbox distances)."""
    sizes = example['featmap_sizes'].tolist()
    points, strides = example['points'], example['strides']
    boxes = example['pred_boxes']
    distances = torch.cat([points - boxes[:, :2], boxes[:, 2:] - points], 1) / strides[:, None]
    cls_scores, bbox_preds, centernesses, start = [], [], [], 0

    def level(x, start, h, w):  # rows of one level -> (1, K, H, W)
        return x[start:start + h * w].reshape(h, w, x.shape[1]).permute(2, 0, 1)[None]

    for h, w in sizes:
        cls_scores.append(level(example['cls_logits'], start, h, w))
        bbox_preds.append(level(distances, start, h, w))
        centernesses.append(level(example['ctr_logits'][:, None], start, h, w))
        start += h * w
    return cls_scores, bbox_preds, centernesses


@pytest.mark.parametrize('preset', ['official', 'paper'])
def test_loss_matches_official_worked_example(preset):
    example = torch.load(WORKED_EXAMPLE, weights_only=True)
    head = make_head(num_classes=example['num_classes'], strides=(8, 16, 32, 64, 128),
                     train_cfg=OFFICIAL_TRAIN_CFG if preset == 'official' else PAPER_TRAIN_CFG)
    head.set_temperature(float(example['T']))
    outs = worked_example_head_inputs(example)
    _, _, points, _ = head.o2f_flatten(*outs)
    assert torch.equal(points, example['points'])
    h, w = example['img_hw'].tolist()
    gts = [InstanceData(bboxes=example['gt_bboxes'], labels=example['gt_labels'])]
    losses = head.loss_by_feat(*outs, gts, [dict(img_shape=(h, w))])
    if preset == 'official':
        expected_cls, expected_box = example['loss_cls'], example['loss_bbox']
    else:
        expected_cls, expected_box = example['paper_loss_cls'], example['paper_loss_bbox']
    assert losses['loss_cls'].item() == pytest.approx(expected_cls.item(), rel=1e-5)
    assert losses['loss_bbox'].item() == pytest.approx(expected_box.item(), rel=1e-5)


def predict_inputs(num_points_hot: int = 0):
    """One 64x64 image, three levels; all scores tiny except chosen points."""
    sizes = [8, 4, 2]
    cls = [torch.full((1, 3, n, n), -12.0) for n in sizes]
    ctr = [torch.zeros(1, 1, n, n) for n in sizes]
    reg = [torch.full((1, 4, n, n), 2.0) for n in sizes]  # pixels (predict takes eval outputs)
    meta = dict(img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1.0, 1.0))
    return cls, reg, ctr, meta


def test_predict_scores_are_joint_probabilities_without_nms(monkeypatch):
    def no_nms(*args, **kwargs):
        raise AssertionError('NMS must not run by default')

    monkeypatch.setattr(base_dense_head, 'batched_nms', no_nms)
    head = make_head().eval()
    cls, reg, ctr, meta = predict_inputs()
    cls[0][0, 1, 2, 3] = 2.0      # level 0, class 1, point (x=3, y=2): centre (28, 20)
    ctr[0][0, 0, 2, 3] = math.log(3.0)  # sigmoid = 0.75
    reg[0][0, :, 2, 3] = torch.tensor([4.0, 6.0, 8.0, 10.0])
    result = head.predict_by_feat(cls, reg, ctr, batch_img_metas=[meta], rescale=False)[0]
    assert len(result) == 1
    assert result.scores.item() == pytest.approx(1 / (1 + math.exp(-2.0)) * 0.75, rel=1e-6)
    assert result.labels.item() == 1
    assert result.bboxes[0].tolist() == pytest.approx([24.0, 14.0, 36.0, 30.0])


def test_predict_caps_at_100_sorted_without_nms(monkeypatch):
    def no_nms(*args, **kwargs):
        raise AssertionError('NMS must not run by default')

    monkeypatch.setattr(base_dense_head, 'batched_nms', no_nms)
    head = make_head().eval()
    cls, reg, ctr, meta = predict_inputs()
    cls = [torch.randn_like(c) + 1.0 for c in cls]  # 252 entries, most above 0.05
    results = head.predict_by_feat(cls, reg, ctr, batch_img_metas=[meta], rescale=False)
    assert len(results[0]) == 100
    scores = results[0].scores
    assert torch.all(scores[:-1] >= scores[1:])
    joint = torch.cat([(c.sigmoid() * 0.5).flatten() for c in cls])
    assert torch.allclose(scores, joint.sort(descending=True).values[:100])


def test_predict_applies_nms_when_switched_on(monkeypatch):
    calls = []
    real_nms = base_dense_head.batched_nms

    def spy(*args, **kwargs):
        calls.append(args[0].shape[0])
        return real_nms(*args, **kwargs)

    monkeypatch.setattr(base_dense_head, 'batched_nms', spy)
    head = make_head().eval()
    cls, reg, ctr, meta = predict_inputs()
    # Two neighbouring points of one level and class predicting the same box (IoU 1).
    cls[0][0, 0, 4, 4] = 3.0
    cls[0][0, 0, 4, 5] = 2.0
    reg[0][0, :, 4, 4] = torch.tensor([10.0, 10.0, 10.0, 10.0])  # centre (36, 36)
    reg[0][0, :, 4, 5] = torch.tensor([18.0, 10.0, 2.0, 10.0])   # centre (44, 36)
    without = head.predict_by_feat(cls, reg, ctr, batch_img_metas=[meta])[0]
    assert len(without) == 2 and calls == []
    head.set_with_nms(True)
    with_nms = head.predict_by_feat(cls, reg, ctr, batch_img_metas=[meta])[0]
    assert calls == [2] and len(with_nms) == 1
    assert with_nms.bboxes[0].tolist() == pytest.approx([26.0, 26.0, 46.0, 46.0])
