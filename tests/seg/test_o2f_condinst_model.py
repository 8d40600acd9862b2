"""O2FCondInst end to end on CPU: loss / backward with an empty image, NMS-free predict."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip('mmdet')

from mmdet.models.dense_heads import base_dense_head  # noqa: E402
from mmdet.testing import demo_mm_inputs  # noqa: E402

SHAPES = [[3, 128, 128], [3, 128, 128]]


def loss_batch(model, num_items=(4, 0)):
    """A 2-image batch with instance masks; the second image has no object."""
    packed = demo_mm_inputs(2, SHAPES, num_items=list(num_items), num_classes=3, with_mask=True)
    return model.data_preprocessor(packed, True)


def test_loss_and_backward_on_a_batch_with_an_empty_image(tiny_model_cfg, build_model):
    model = build_model(tiny_model_cfg)
    model.train()
    losses = model(**loss_batch(model), mode='loss')
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_mask'}
    for name, value in losses.items():
        assert torch.isfinite(value), name
        assert value > 0, name
    sum(losses.values()).backward()
    head = model.bbox_head
    grads = {
        'cls': head.conv_cls.weight.grad,
        'reg': head.conv_reg.weight.grad,
        'centerness convs': head.conv_centerness.ctr_convs[0].conv.weight.grad,
        'controller (dynamic filters)': head.controller.weight.grad,
        'mask features': model.mask_head.mask_feature_head.conv_pred.weight.grad,
    }
    for name, grad in grads.items():
        assert grad is not None and grad.abs().sum() > 0, name

    infos = head.get_positive_infos()
    assert len(infos[1]) == 0  # the empty image has no labelled anchor
    assert 0 < infos[0].certain.sum() <= 4  # at most one certain positive per object
    assert len(infos[0]) <= 4 * 8  # at most 1 + 7 anchors per object


def test_predict_returns_at_most_100_masks_without_nms(tiny_model_cfg, build_model, monkeypatch):
    tiny_model_cfg['test_cfg']['score_thr'] = 0.0  # an untrained model: keep every candidate

    def no_nms(*args, **kwargs):
        raise AssertionError('NMS was called')

    monkeypatch.setattr(base_dense_head, 'batched_nms', no_nms)
    model = build_model(tiny_model_cfg).eval()
    packed = demo_mm_inputs(2, SHAPES, num_items=[2, 0], num_classes=3, with_mask=True)
    with torch.no_grad():
        samples = model(**model.data_preprocessor(packed, False), mode='predict')
    for sample in samples:
        pred = sample.pred_instances
        assert len(pred) == 100  # all (256 + 64 + 16 + 4) x 3 candidates, capped
        assert pred.masks.shape == (100, 128, 128) and pred.masks.dtype == torch.bool
        assert (pred.scores[:-1] >= pred.scores[1:]).all()  # sorted by joint score
        assert pred.bboxes.shape == (100, 4) and pred.labels.max() < 3


def test_nms_switch_applies_box_nms(tiny_model_cfg, build_model, monkeypatch):
    tiny_model_cfg['test_cfg']['score_thr'] = 0.0
    calls = []
    real_nms = base_dense_head.batched_nms

    def counting_nms(*args, **kwargs):
        calls.append(len(args[0]))
        return real_nms(*args, **kwargs)

    monkeypatch.setattr(base_dense_head, 'batched_nms', counting_nms)
    model = build_model(tiny_model_cfg).eval()
    model.bbox_head.set_with_nms(True)
    packed = demo_mm_inputs(1, [SHAPES[0]], num_items=[2], num_classes=3, with_mask=True)
    with torch.no_grad():
        (sample,) = model(**model.data_preprocessor(packed, False), mode='predict')
    assert calls and calls[0] > 100  # NMS saw all candidates, not just the top 100
    assert len(sample.pred_instances) <= 100
    assert len(sample.pred_instances.masks) == len(sample.pred_instances)


SEMANTIC = dict(loss_semantic=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                   loss_weight=1.0), num_classes=3, semantic_channels=8)


@pytest.mark.parametrize('mask_iou_matching', [False, True])
def test_semantic_loss_trains_the_shared_features(tiny_model_cfg, build_model,
                                                  mask_iou_matching):
    tiny_model_cfg['mask_iou_matching'] = mask_iou_matching
    tiny_model_cfg['mask_head'].update(SEMANTIC)
    model = build_model(tiny_model_cfg)
    model.train()
    losses = model(**loss_batch(model), mode='loss')
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_mask', 'loss_sem'}
    assert torch.isfinite(losses['loss_sem']) and losses['loss_sem'] > 0
    losses['loss_sem'].backward()
    assert model.mask_head.semantic_pred.weight.grad.abs().sum() > 0
    assert model.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0  # P3 gets its gradient


def test_mask_iou_matching_trains_and_runs_the_mask_branch_once(tiny_model_cfg, build_model):
    tiny_model_cfg['mask_iou_matching'] = True
    model = build_model(tiny_model_cfg)
    model.train()
    calls = []
    model.mask_head.mask_feature_head.register_forward_hook(lambda *_: calls.append(1))
    losses = model(**loss_batch(model), mode='loss')
    assert len(calls) == 1
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_mask'] > 0
    sum(losses.values()).backward()
    assert model.mask_head.mask_feature_head.conv_pred.weight.grad.abs().sum() > 0


def test_poto_labels_one_anchor_per_object(tiny_model_cfg, build_model):
    # POTO = the o2f box head with the POTO assigner (a config change, no head subclass).
    tiny_model_cfg['bbox_head']['loss_bbox'] = dict(type='O2FGIoULoss',
                                                    centerness_weighting=False)
    tiny_model_cfg['train_cfg'] = dict(assigner=dict(type='POTOAssigner', alpha=0.8,
                                                     center_radius=1.5))
    model = build_model(tiny_model_cfg)
    model.train()
    losses = model(**loss_batch(model, num_items=(3, 2)), mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    for info, num_objects in zip(model.bbox_head.get_positive_infos(), (3, 2)):
        assert len(info) <= num_objects and info.certain.all()
        assert len(info.pos_assigned_gt_inds.unique()) == len(info)


def test_condinst_baseline_trains_and_switches_nms(tiny_model_cfg, build_model, monkeypatch):
    tiny_model_cfg['bbox_head']['type'] = 'NMSSwitchCondInstBboxHead'
    for key in ('num_ctr_convs', 'ctr_conv_channels'):
        tiny_model_cfg['bbox_head'].pop(key)
    tiny_model_cfg['bbox_head'].update(
        center_sampling=True, regress_ranges=((-1, 64), (64, 128), (128, 256), (256, 1e8)))
    tiny_model_cfg['mask_head']['type'] = 'CondInstMaskHead'
    tiny_model_cfg['train_cfg'] = None
    tiny_model_cfg['test_cfg']['score_thr'] = 0.0
    model = build_model(tiny_model_cfg)
    losses = model(**loss_batch(model), mode='loss')
    assert {'loss_cls', 'loss_bbox', 'loss_centerness', 'loss_mask'} == set(losses)
    assert all(torch.isfinite(v) for v in losses.values())

    calls = []
    real_nms = base_dense_head.batched_nms
    monkeypatch.setattr(base_dense_head, 'batched_nms',
                        lambda *a, **k: calls.append(1) or real_nms(*a, **k))
    model.eval()
    packed = demo_mm_inputs(1, [SHAPES[0]], num_items=[2], num_classes=3, with_mask=True)
    for with_nms in (False, True):
        model.bbox_head.set_with_nms(with_nms)
        with torch.no_grad():
            (sample,) = model(**model.data_preprocessor(packed, False), mode='predict')
        assert len(calls) == int(with_nms)
        assert len(sample.pred_instances) <= 100
