"""O2FHead: layers, plug-ins, o2f loss (against the official code's numbers), gradients, predict."""

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
    assigner=dict(type='O2FAssigner', num_ambiguous=6, alpha=0.8, center_radius=1.5,
                  ambiguous_weight=0.4))
PAPER_TRAIN_CFG = dict(assigner=dict(type='O2FAssigner', num_ambiguous=7, alpha=0.8,
                                     center_radius=1.5, ambiguous_weight=1.0))
TEST_CFG = dict(nms_pre=1000, score_thr=0.05, max_per_img=100, with_nms=False,
                nms=dict(type='nms', iou_threshold=0.6))


def make_head(num_classes=3, strides=(8, 16, 32), train_cfg=None, temperature=0.6,
              **kwargs) -> O2FHead:
    """A tiny head; T set as O2FTemperatureHook would (None: left unset)."""
    kwargs.setdefault('norm_on_bbox', True)
    head = O2FHead(num_classes=num_classes, in_channels=8, feat_channels=8, stacked_convs=1,
                   strides=list(strides), norm_cfg=None, centerness_on_reg=True, conv_bias=True,
                   train_cfg=ConfigDict(train_cfg or OFFICIAL_TRAIN_CFG),
                   test_cfg=ConfigDict(TEST_CFG), **kwargs)
    head.init_weights()
    if temperature is not None:
        head.set_temperature(temperature)
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


@pytest.mark.parametrize('num_convs', [1, 2, 3])
def test_centerness_branch_config_sets_the_number_of_convs(num_convs):
    head = make_head(centerness_branch=dict(type='O2FCenternessBranch', num_convs=num_convs,
                                            channels=16))
    branch = head.conv_centerness
    assert type(branch).__name__ == 'O2FCenternessBranch'
    assert len(branch.ctr_convs) == num_convs
    # 3x3 convs 8 -> 16 -> 16 ..., with bias (conv_bias=True), then the 16 -> 1 predictor.
    expected = (8 * 16 * 9 + 16) + (num_convs - 1) * (16 * 16 * 9 + 16) + (16 * 9 + 1)
    assert sum(p.numel() for p in branch.parameters()) == expected
    feats = tuple(torch.randn(1, 8, 64 // s, 64 // s) for s in (8, 16, 32))
    assert [c.shape for c in head(feats)[2]] == [(1, 1, 8, 8), (1, 1, 4, 4), (1, 1, 2, 2)]


def test_centerness_branch_keys_without_type_amend_the_default():
    # What --cfg-options model.bbox_head.centerness_branch.num_convs=1 gives.
    head = make_head(centerness_branch=dict(num_convs=1))
    assert len(head.conv_centerness.ctr_convs) == 1
    assert head.conv_centerness.ctr_convs[0].conv.out_channels == 64  # the default's channels
    # The shorthand overrides the branch's arguments (a leaf on a base that sets the branch).
    head = make_head(centerness_branch=dict(num_convs=1, channels=64), num_ctr_convs=2,
                     ctr_conv_channels=16)
    assert [c.conv.out_channels for c in head.conv_centerness.ctr_convs] == [16, 16]
    with pytest.raises(ValueError, match="set an O2FCenternessBranch, not a 'Max3DFilter'"):
        make_head(centerness_branch=dict(type='Max3DFilter'), num_ctr_convs=2)


def test_temperature_has_one_source():
    head = make_head(temperature=None)
    assert head.temperature is None  # no default of its own: O2FTemperatureHook sets it
    feats, gts, metas = two_image_batch()
    with pytest.raises(ValueError, match='O2FTemperatureHook'):
        head.loss_by_feat(*head(feats), gts, metas)
    head.set_temperature(0.25)
    assert head.temperature == 0.25
    scores, boxes, points, strides = head.o2f_flatten(*head(feats))
    result = head.o2f_assign(scores, boxes, points, strides, gts)[0]
    assert result.soft_targets[result.ambiguous].max().item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match='temperature is not used.*O2FTemperatureHook'):
        O2FHead(num_classes=3, in_channels=8, temperature=0.6)


@pytest.mark.parametrize('key, value, hint', [
    ('loss_centerness', dict(type='CrossEntropyLoss', use_sigmoid=True), 'no centerness loss'),
    ('regress_ranges', ((-1, 64), (64, 1e8), (1e8, 1e9)), 'center_radius'),
    ('center_sampling', True, 'center_radius'),
    ('center_sample_radius', 2.5, 'center_radius'),
    ('loss_cls', dict(type='FocalLoss', use_sigmoid=True, gamma=5.0, loss_weight=10.0),
     "O2FSoftFocalLoss"),
    ('loss_bbox', dict(type='GIoULoss', loss_weight=1.0), "O2FGIoULoss"),
])
def test_settings_the_head_does_not_use_are_refused(key, value, hint):
    with pytest.raises(ValueError, match=hint) as error:
        make_head(**{key: value})
    assert key in str(error.value) and '\n' not in str(error.value)


@pytest.mark.parametrize('key, place', [
    ('centerness_weighting', 'model.bbox_head.loss_bbox.centerness_weighting'),
    ('loss_cls_weight', 'model.bbox_head.loss_cls.loss_weight'),
    ('loss_bbox_weight', 'model.bbox_head.loss_bbox.loss_weight'),
])
def test_moved_train_cfg_keys_say_where_they_went(key, place):
    with pytest.raises(ValueError, match=f'train_cfg.{key} has moved to {place}'):
        make_head(train_cfg=dict(OFFICIAL_TRAIN_CFG, **{key: 1.0}))


def test_assigner_is_built_from_task_utils_with_old_configs_kept():
    head = make_head(train_cfg=dict(assigner=dict(num_ambiguous=2, ranking='add')))  # no type
    assert type(head.assigner).__name__ == 'O2FTaskAssigner'
    assert head.assigner.core.num_ambiguous == 2 and head.assigner.core.ranking == 'add'
    poto = make_head(train_cfg=dict(assigner=dict(type='POTOAssigner', alpha=0.6)))
    assert type(poto.assigner).__name__ == 'POTOTaskAssigner' and poto.assigner.core.alpha == 0.6
    with pytest.raises(ValueError, match="'Nope' is not registered in mmdet TASK_UTILS"):
        make_head(train_cfg=dict(assigner=dict(type='Nope')))


def hand_loss_scene():
    """One image, one object [0, 0, 32, 32] (class 0 of 1), two points labelled by hand.

    P0 (16, 16): certain, p = 0.8, box [0, 0, 32, 16]: 1 - GIoU = 0.5, centerness 1.
    P1 (8, 16): negative for classification (p = 0.5) but, to load the box loss, labelled too
    with weight 1 and target 1 when ``both`` (box [0, 0, 32, 32]: 1 - GIoU = 0, centerness
    sqrt(8 / 24) = 0.57735).
    """
    from o2f_core import O2FAssignResult

    scores = torch.tensor([[0.8], [0.5]])
    pred_boxes = torch.tensor([[0.0, 0.0, 32.0, 16.0], [0.0, 0.0, 32.0, 32.0]])
    points = torch.tensor([[16.0, 16.0], [8.0, 16.0]])
    gts = [InstanceData(bboxes=torch.tensor([[0.0, 0.0, 32.0, 32.0]]), labels=torch.tensor([0]))]
    result = O2FAssignResult(
        assigned_gt=torch.tensor([0, 0]), labels=torch.tensor([0, 0]),
        soft_targets=torch.tensor([1.0, 1.0]), weights=torch.tensor([1.0, 1.0]),
        certain=torch.tensor([True, False]), ignored=torch.tensor([False, False]))
    return scores[None], pred_boxes[None], points, [result], gts


@pytest.mark.parametrize('loss_cls, loss_bbox, expected_cls, expected_box', [
    # cls: (BCE(.8, 1) + BCE(.5, 1)) / 2 labelled = (.223144 + .693147) / 2 = .458145
    # box, centerness-weighted: 2 * (1 * .5 + .57735 * 0) / 1.57735 = .633975; uniform: .5
    ({}, {}, 0.458145, 0.633975),
    (dict(loss_weight=3.0), {}, 3 * 0.458145, 0.633975),
    ({}, dict(loss_weight=1.0), 0.458145, 0.316987),
    ({}, dict(centerness_weighting=False), 0.458145, 0.5),
    ({}, dict(centerness_weighting=False, loss_weight=5.0), 0.458145, 1.25),
])
def test_loss_knobs_by_hand(loss_cls, loss_bbox, expected_cls, expected_box):
    head = make_head(num_classes=1,
                     loss_cls=dict(type='O2FSoftFocalLoss', **loss_cls),
                     loss_bbox=dict(type='O2FGIoULoss', **loss_bbox))
    losses = head.o2f_loss(*hand_loss_scene())
    assert losses['loss_cls'].item() == pytest.approx(expected_cls, rel=1e-5)
    assert losses['loss_bbox'].item() == pytest.approx(expected_box, rel=1e-5)


def test_soft_focal_loss_parameters_by_hand():
    # One negative entry p = 0.5: negative_weight * p^gamma * -log(1 - p).
    head = make_head(num_classes=1, loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.5,
                                                  gamma=1.0))
    scores, pred_boxes, points, results, gts = hand_loss_scene()
    results[0].assigned_gt[1] = -1
    results[0].labels[1] = -1
    losses = head.o2f_loss(scores, pred_boxes, points, results, gts)
    expected = -math.log(0.8) + 0.5 * 0.5 * -math.log(0.5)  # / 1 labelled
    assert losses['loss_cls'].item() == pytest.approx(expected, rel=1e-5)


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


def test_predict_rescale_divides_by_the_scale_factor():
    # The box of test_predict_scores_are_joint_probabilities_without_nms, [24, 14, 36, 30] in
    # the network input; the image was resized by (w x2, h x0.5), so in the original image it
    # is [24 / 2, 14 / 0.5, 36 / 2, 30 / 0.5] = [12, 28, 18, 60].
    head = make_head().eval()
    cls, reg, ctr, meta = predict_inputs()
    cls[0][0, 1, 2, 3] = 2.0
    reg[0][0, :, 2, 3] = torch.tensor([4.0, 6.0, 8.0, 10.0])
    meta = dict(meta, ori_shape=(128, 32), scale_factor=(2.0, 0.5))
    kept = head.predict_by_feat(cls, reg, ctr, batch_img_metas=[meta], rescale=False)[0]
    rescaled = head.predict_by_feat(cls, reg, ctr, batch_img_metas=[meta], rescale=True)[0]
    assert kept.bboxes[0].tolist() == pytest.approx([24.0, 14.0, 36.0, 30.0])
    assert rescaled.bboxes[0].tolist() == pytest.approx([12.0, 28.0, 18.0, 60.0])
    assert rescaled.scores.tolist() == kept.scores.tolist()


@pytest.mark.parametrize('norm_on_bbox, expected', [
    # Point (4, 4) of stride 8 and point (8, 8) of stride 16, every distance 2.0:
    # norm_on_bbox=True: distances in strides (x8, x16); False: already pixels.
    (True, [[-12.0, -12.0, 20.0, 20.0], [-24.0, -24.0, 40.0, 40.0]]),
    (False, [[2.0, 2.0, 6.0, 6.0], [6.0, 6.0, 10.0, 10.0]]),
])
def test_training_boxes_follow_norm_on_bbox(norm_on_bbox, expected):
    head = make_head(strides=(8, 16), norm_on_bbox=norm_on_bbox)
    sizes = (4, 2)
    cls = [torch.zeros(1, 3, n, n) for n in sizes]
    reg = [torch.full((1, 4, n, n), 2.0) for n in sizes]
    ctr = [torch.zeros(1, 1, n, n) for n in sizes]
    _, boxes, points, strides = head.o2f_flatten(cls, reg, ctr)
    first_of_level = [0, 16]
    assert points[first_of_level].tolist() == [[4.0, 4.0], [8.0, 8.0]]
    assert boxes[0, first_of_level].tolist() == expected


def test_an_mmdet_assigner_plugs_in_with_hard_labels():
    # mmdet's SimOTAAssigner takes the same pred_instances (priors with strides, joint scores,
    # boxes): its AssignResult has no soft targets, so every positive is certain, target 1.
    head = make_head(train_cfg=dict(assigner=dict(type='SimOTAAssigner', center_radius=2.5)))
    feats, gts, metas = two_image_batch()
    outs = head(feats)
    scores, boxes, points, strides = head.o2f_flatten(*outs)
    results = head.o2f_assign(scores, boxes, points, strides, gts)
    assert results[0].num_labelled >= 2 and results[1].num_labelled == 0
    labelled = results[0].labelled
    assert results[0].certain[labelled].all() and not results[0].certain[~labelled].any()
    assert results[0].soft_targets[labelled].tolist() == [1.0] * int(labelled.sum())
    assert results[0].labels[labelled].tolist() == \
        gts[0].labels[results[0].assigned_gt[labelled]].tolist()
    losses = head.loss_by_feat(*outs, gts, metas)
    assert torch.isfinite(losses['loss_cls']) and losses['loss_bbox'] > 0


def test_ignore_regions_train_as_negatives_unless_excluded():
    """Authors' default: ignore regions are not read (their points are negatives);
    train_cfg.exclude_ignore_regions=True keeps their unlabelled points out of the loss."""
    feats, gts, metas = two_image_batch()
    # An ignore region over image 1 (no object): with it excluded, fewer negatives count.
    ignore = [InstanceData(bboxes=torch.zeros(0, 4)),
              InstanceData(bboxes=torch.tensor([[0.0, 0.0, 64.0, 64.0]]))]
    torch.manual_seed(0)
    default = make_head()
    outs = default(feats)
    no_ignore = default.loss_by_feat(*outs, gts, metas)
    ignored_default = default.loss_by_feat(*outs, gts, metas, ignore)
    assert ignored_default['loss_cls'].item() == no_ignore['loss_cls'].item()

    excluding = make_head(train_cfg=dict(OFFICIAL_TRAIN_CFG, exclude_ignore_regions=True))
    excluding.load_state_dict(default.state_dict())
    excluded = excluding.loss_by_feat(*outs, gts, metas, ignore)
    assert excluded['loss_cls'].item() < no_ignore['loss_cls'].item()
    # Ignore regions only ever remove negatives: the box loss is unchanged.
    assert excluded['loss_bbox'].item() == pytest.approx(no_ignore['loss_bbox'].item())
