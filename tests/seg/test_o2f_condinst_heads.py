"""O2FCondInstBboxHead / O2FCondInstMaskHead: mask-aware centres, positives, weighted dice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip('mmdet')

from mmdet.structures.mask import BitmapMasks, PolygonMasks  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

from o2f_seg.models.dense_heads import O2FCondInstBboxHead, O2FCondInstMaskHead  # noqa: E402

SIZE = 128
STRIDES = (8, 16, 32, 64)
TRAIN_CFG = dict(assigner=dict(type='O2FAssigner', num_ambiguous=7, alpha=0.8,
                               center_radius=1.5, ambiguous_weight=0.4))
L_BOX = [16.0, 16.0, 112.0, 112.0]

# Candidate points of the L-shaped object worked out by hand. Its mask's centre of mass is
# (340/7, 556/7) = (48.57, 79.43) with pixel centres at index + 0.5, (48.07, 78.93) at the pixel
# index (the authors' default; see test_mask_geometry.py); a point at ((j + .5) s, (i + .5) s) is
# a candidate if strictly inside centre +- 1.5 s, clipped to the box (16, 16, 112, 112), which
# gives the same points for both centres (bounds below for (48.57, 79.43)):
#   s=8:  x in (36.57, 60.57) -> 44, 52, 60;    y in (67.43, 91.43) -> 68, 76, 84
#   s=16: x in (24.57, 72.57) -> 40, 56, 72;    y in (55.43, 103.43) -> 56, 72, 88
#   s=32: x in (16, 96.57) -> 48, 80;           y in (31.43, 112) -> 48, 80
#   s=64: x in (16, 112) -> 32, 96;             y in (16, 112) -> 32, 96
MASK_CENTRE_CANDIDATES = {
    8: {(x, y) for x in (44, 52, 60) for y in (68, 76, 84)},
    16: {(x, y) for x in (40, 56, 72) for y in (56, 72, 88)},
    32: {(x, y) for x in (48, 80) for y in (48, 80)},
    64: {(x, y) for x in (32, 96) for y in (32, 96)},
}
# The same around the box centre (64, 64): s=8: (52, 76) -> 60, 68 on both axes.
BOX_CENTRE_STRIDE8 = {(x, y) for x in (60, 68) for y in (60, 68)}


def l_shape_gt() -> InstanceData:
    mask = np.zeros((1, SIZE, SIZE), dtype=np.uint8)
    mask[0, 16:112, 16:40] = 1
    mask[0, 88:112, 16:112] = 1
    return InstanceData(bboxes=torch.tensor([L_BOX]), labels=torch.tensor([1]),
                        masks=BitmapMasks(mask, SIZE, SIZE))


def make_bbox_head(**kwargs) -> O2FCondInstBboxHead:
    head = O2FCondInstBboxHead(num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
                               strides=list(STRIDES), norm_cfg=None, norm_on_bbox=True,
                               centerness_on_reg=True, conv_bias=True,
                               train_cfg=ConfigDict(TRAIN_CFG), **kwargs)
    head.init_weights()
    head.set_temperature(0.6)  # as O2FTemperatureHook does before the first epoch
    return head


def crafted_outputs(head: O2FCondInstBboxHead):
    """Head outputs for one 128-px image: uniform scores; boxes of 96 px at stride 8 only.

    Every stride-8 point predicts the square of half-side 6 strides = 48 px (the object's size)
    around itself, so among them IoU falls with the distance to (64, 64); the other levels
    predict tiny boxes (IoU < 0.02). The object's positives then sit at stride 8.
    """
    sizes = [SIZE // s for s in STRIDES]
    cls_scores = [torch.zeros(1, 3, n, n) for n in sizes]
    centernesses = [torch.zeros(1, 1, n, n) for n in sizes]
    bbox_preds = [torch.full((1, 4, n, n), 6.0 if s == 8 else 0.1) for n, s in zip(sizes, STRIDES)]
    param_preds = [torch.zeros(1, head.num_params, n, n) for n in sizes]
    return cls_scores, bbox_preds, centernesses, param_preds


def as_point_sets(points: torch.Tensor, strides: torch.Tensor) -> dict:
    sets = {}
    for (x, y), s in zip(points.tolist(), strides.tolist()):
        sets.setdefault(int(s), set()).add((int(x), int(y)))
    return sets


def labelled_points(head: O2FCondInstBboxHead, mask_quality_fn=None) -> InstanceData:
    metas = [dict(img_shape=(SIZE, SIZE), batch_input_shape=(SIZE, SIZE))]
    losses = head.loss_by_feat(*crafted_outputs(head), [l_shape_gt()], metas,
                               mask_quality_fn=mask_quality_fn)
    assert torch.isfinite(losses['loss_cls']) and torch.isfinite(losses['loss_bbox'])
    (info,) = head.get_positive_infos()
    return info


@pytest.mark.parametrize('half_pixel, centre', [(False, [340 / 7 - 0.5, 556 / 7 - 0.5]),
                                                 (True, [340 / 7, 556 / 7])])
def test_candidates_are_centred_at_the_mask_centre_of_mass(half_pixel, centre):
    head = make_bbox_head(mask_centre_half_pixel=half_pixel)
    gt = l_shape_gt()
    centres = head.gt_centres(gt)
    assert torch.allclose(centres, torch.tensor([centre]), atol=1e-4)
    points = torch.cat(head.prior_generator.grid_priors(
        [(SIZE // s,) * 2 for s in STRIDES], device='cpu'))
    strides = torch.cat([torch.full(((SIZE // s) ** 2,), float(s)) for s in STRIDES])
    candidates = head.assigner.candidate_mask(points, strides, gt.bboxes, centres)[0]
    assert as_point_sets(points[candidates], strides[candidates]) == MASK_CENTRE_CANDIDATES


def test_mask_centres_default_to_the_authors_pixel_index():
    centre = make_bbox_head().gt_centres(l_shape_gt())
    assert torch.allclose(centre, torch.tensor([[340 / 7 - 0.5, 556 / 7 - 0.5]]), atol=1e-4)


def test_polygon_masks_give_the_same_centre():
    # mmdet's CondInst config loads polygons (poly2mask=False); they are rasterised first
    polygon = np.array([16, 16, 40, 16, 40, 88, 112, 88, 112, 112, 16, 112], dtype=np.float64)
    gt = InstanceData(bboxes=torch.tensor([L_BOX]), labels=torch.tensor([1]),
                      masks=PolygonMasks([[polygon]], SIZE, SIZE))
    centre = make_bbox_head().gt_centres(gt)
    assert torch.allclose(centre, torch.tensor([[340 / 7 - 0.5, 556 / 7 - 0.5]]), atol=0.6)


def test_positives_lie_around_the_mask_centre_not_the_box_centre():
    info = labelled_points(make_bbox_head())
    # 1 certain + 7 ambiguous, all at stride 8 among the 9 hand-computed candidates; the one
    # left out is the farthest from (64, 64): (44, 84). The certain one is the closest, (60, 68).
    assert len(info) == 8
    assert as_point_sets(info.points, info.strides) == {
        8: MASK_CENTRE_CANDIDATES[8] - {(44, 84)}}
    assert info.certain.sum() == 1
    assert info.points[info.certain].tolist() == [[60.0, 68.0]]
    assert (info.pos_assigned_gt_inds == 0).all()
    assert torch.allclose(info.soft_targets[info.certain], torch.tensor([1.0]))
    ambiguous = info.soft_targets[~info.certain]
    assert ambiguous.max() == pytest.approx(0.6) and (ambiguous > 0).all()  # T = 0.6
    assert torch.allclose(info.assign_weights[~info.certain], torch.full((7,), 0.4))

    # With box centres the stride-8 candidates are the 4 points around (64, 64) instead.
    box_info = labelled_points(make_bbox_head(mask_centres=False))
    assert as_point_sets(box_info.points, box_info.strides)[8] == BOX_CENTRE_STRIDE8


def test_mask_iou_matching_scores_only_candidates_and_drives_the_ranking():
    head = make_bbox_head()
    seen = {}

    def fake_mask_iou(img_id, candidates, gt_instances):
        # prefer the candidate (52, 76) at stride 8: IoU 1 there, 0.3 elsewhere
        seen['img_id'] = img_id
        seen['points'] = as_point_sets(candidates.points, candidates.strides)
        seen['params'] = candidates.param_preds.shape
        best = (candidates.points == torch.tensor([52.0, 76.0])).all(1) & (candidates.strides == 8)
        return torch.where(best, 1.0, 0.3)[None].expand(len(gt_instances), -1)

    info = labelled_points(head, mask_quality_fn=fake_mask_iou)
    assert seen['img_id'] == 0
    assert seen['points'] == MASK_CENTRE_CANDIDATES  # the 26 candidates, no other anchor
    assert seen['params'] == (26, head.num_params)
    assert info.points[info.certain].tolist() == [[52.0, 76.0]]


def test_empty_image_gives_no_positive_and_zero_box_loss():
    head = make_bbox_head()
    empty = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long),
                         masks=BitmapMasks(np.zeros((0, SIZE, SIZE), np.uint8), SIZE, SIZE))
    metas = [dict(img_shape=(SIZE, SIZE), batch_input_shape=(SIZE, SIZE))]
    losses = head.loss_by_feat(*crafted_outputs(head), [empty], metas)
    assert losses['loss_bbox'] == 0 and losses['loss_cls'] > 0
    (info,) = head.get_positive_infos()
    assert len(info) == 0 and info.certain.dtype == torch.bool


def make_mask_head(**kwargs) -> O2FCondInstMaskHead:
    return O2FCondInstMaskHead(
        mask_feature_head=dict(in_channels=8, feat_channels=8, start_level=0, end_level=1,
                               out_channels=8, mask_stride=8, num_stacked_convs=1),
        loss_mask=dict(type='DiceLoss', use_sigmoid=True, activate=True, eps=5e-6,
                       loss_weight=1.0), **kwargs)


def test_mask_cap_keeps_certain_anchors_first_then_the_largest_soft_targets():
    head = make_mask_head(max_masks_to_train=3)
    info = InstanceData(
        certain=torch.tensor([False, True, False, False, True, False]),
        soft_targets=torch.tensor([0.1, 1.0, 0.5, 0.3, 1.0, 0.2]),
        pos_inds=torch.arange(6))
    assert head.select_positives(info).pos_inds.tolist() == [1, 2, 4]
    assert make_mask_head(max_masks_to_train=-1).select_positives(info) is info


@pytest.mark.parametrize('weighting, weights', [('soft_target', [1.0, 0.5]),
                                                ('assign_weight', [1.0, 0.4]),
                                                ('uniform', [1.0, 1.0])])
def test_dice_is_weighted_per_anchor(weighting, weights):
    head = make_mask_head(mask_weighting=weighting)
    # One 8x8 object (stride-4 targets: 2x2 samples at pixels 2 and 6); two anchors predict it.
    gt_mask = np.zeros((1, 8, 8), np.uint8)
    gt_mask[0, :, :4] = 1  # left half: targets [[1, 0], [1, 0]]
    gt = InstanceData(bboxes=torch.tensor([[0.0, 0.0, 4.0, 8.0]]), labels=torch.tensor([0]),
                      masks=BitmapMasks(gt_mask, 8, 8))
    probs = torch.tensor([[[0.9, 0.1], [0.9, 0.1]],   # good mask
                          [[0.5, 0.5], [0.5, 0.5]]])  # poor mask
    info = InstanceData(pos_assigned_gt_inds=torch.tensor([0, 0]),
                        certain=torch.tensor([True, False]),
                        soft_targets=torch.tensor([1.0, 0.5]),
                        assign_weights=torch.tensor([1.0, 0.4]),
                        scores=torch.zeros(2, 1), centernesses=torch.zeros(2, 1))
    loss = head.loss_by_feat([torch.logit(probs)], [gt], [{}], [info])['loss_mask']
    # V-Net dice 1 - 2 sum(p t) / (sum p^2 + sum t^2) with t = [[1, 0], [1, 0]]:
    # good: 1 - 3.6 / (1.64 + 2) = 0.010989; poor: 1 - 2 / (1 + 2) = 1/3
    dice = torch.tensor([1 - 3.6 / 3.64, 1 / 3])
    w = torch.tensor(weights)
    expected = (w * dice).sum() / w.sum().clamp(min=1)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)


def test_topk_masks_per_img_and_unknown_weighting_are_refused():
    with pytest.raises(ValueError, match='topk_masks_per_img'):
        make_mask_head(topk_masks_per_img=10)
    with pytest.raises(ValueError, match='mask_weighting'):
        make_mask_head(mask_weighting='focal')


def test_candidate_mask_iou_is_chunked_without_changing_the_result():
    torch.manual_seed(0)
    head = make_mask_head()
    head.init_weights()
    mask_feat = torch.randn(8, 8, 8)  # (C, H/8, W/8) of a 64-px image
    candidates = InstanceData(points=torch.rand(11, 2) * 64, strides=torch.full((11,), 8.0),
                              param_preds=torch.randn(11, head.num_params) * 0.3)
    gt = np.zeros((2, 64, 64), np.uint8)
    gt[0, 8:40, 8:24] = 1
    gt[1, 30:60, 20:60] = 1
    masks = BitmapMasks(gt, 64, 64)
    whole = head.candidate_mask_iou(mask_feat, candidates, masks)
    head.candidate_chunk = 4  # 3 chunks: 4 + 4 + 3
    chunked = head.candidate_mask_iou(mask_feat, candidates, masks)
    assert whole.shape == (2, 11) and torch.allclose(whole, chunked)
    assert (whole > 0).all() and (whole <= 1).all()  # soft IoU: never exactly 0


def dice_example():
    """One 8x8 object and two anchors predicting it: a good and a poor mask."""
    gt_mask = np.zeros((1, 8, 8), np.uint8)
    gt_mask[0, :, :4] = 1  # left half: stride-4 targets (pixels 2 and 6) [[1, 0], [1, 0]]
    gt = InstanceData(bboxes=torch.tensor([[0.0, 0.0, 4.0, 8.0]]), labels=torch.tensor([0]),
                      masks=BitmapMasks(gt_mask, 8, 8))
    probs = torch.tensor([[[0.9, 0.1], [0.9, 0.1]], [[0.5, 0.5], [0.5, 0.5]]])
    info = InstanceData(pos_assigned_gt_inds=torch.tensor([0, 0]),
                        certain=torch.tensor([True, False]),
                        soft_targets=torch.tensor([1.0, 0.5]),
                        assign_weights=torch.tensor([1.0, 0.4]),
                        scores=torch.zeros(2, 1), centernesses=torch.zeros(2, 1))
    return [torch.logit(probs)], [gt], [{}], [info]


def test_default_dice_weighting_is_the_authors_plain_mean():
    # dice: good 1 - 3.6 / 3.64, poor 1/3 (see test_dice_is_weighted_per_anchor); the authors
    # average every labelled anchor alike: (0.010989 + 0.333333) / 2 = 0.172161
    loss = make_mask_head().loss_by_feat(*dice_example())['loss_mask']
    assert loss.item() == pytest.approx((1 - 3.6 / 3.64 + 1 / 3) / 2, rel=1e-4)


def make_semantic_head() -> O2FCondInstMaskHead:
    head = make_mask_head(
        num_classes=3, semantic_channels=4,
        loss_semantic=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                           loss_weight=1.0))
    head.init_weights()
    return head.eval()  # BN on running statistics: the same logits twice


def two_overlapping_masks() -> InstanceData:
    masks = np.zeros((2, 32, 32), np.uint8)
    masks[0, :, 0:16] = 1     # label 1: the left half, 512 px
    masks[1, 8:24, 8:24] = 1  # label 2: a 16-px square, 256 px, on top of it
    return InstanceData(labels=torch.tensor([1, 2]), masks=BitmapMasks(masks, 32, 32),
                        bboxes=torch.tensor([[0.0, 0.0, 16.0, 32.0], [8.0, 8.0, 24.0, 24.0]]))


def test_semantic_targets_take_the_smallest_covering_mask():
    # samples at pixels 4, 12, 20, 28 of each axis; background is class 3
    # column 4: only the half (1); column 12: the square on rows 12 and 20 (2), else the half;
    # column 20: the square on rows 12 and 20, else background; column 28: background
    targets = make_semantic_head().semantic_targets(two_overlapping_masks(), 4, 4)
    assert targets.tolist() == [[1, 1, 3, 3], [1, 2, 2, 3], [1, 2, 2, 3], [1, 1, 3, 3]]
    empty = InstanceData(labels=torch.zeros(0, dtype=torch.long),
                         masks=BitmapMasks(np.zeros((0, 32, 32), np.uint8), 32, 32))
    assert (make_semantic_head().semantic_targets(empty, 4, 4) == 3).all()


def test_semantic_loss_is_a_focal_sum_over_foreground_samples():
    from torchvision.ops import sigmoid_focal_loss

    head = make_semantic_head()
    torch.manual_seed(0)
    p3 = torch.randn(1, 8, 4, 4)
    loss = head.semantic_loss(p3, [two_overlapping_masks()])
    logits = head.semantic_pred(head.semantic_convs(p3))[0].permute(1, 2, 0)  # (4, 4, 3)
    targets = torch.tensor([[1, 1, 3, 3], [1, 2, 2, 3], [1, 2, 2, 3], [1, 1, 3, 3]])
    one_hot = torch.nn.functional.one_hot(targets, 4)[..., :3].float()
    # torchvision's focal loss (an independent implementation), over the 10 foreground samples
    expected = sigmoid_focal_loss(logits, one_hot, alpha=0.25, gamma=2.0, reduction='sum') / 10
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_semantic_branch_needs_num_classes():
    with pytest.raises(ValueError, match='num_classes'):
        make_mask_head(loss_semantic=dict(type='FocalLoss', use_sigmoid=True))


def test_poto_with_mask_iou_matching_ranks_by_score_and_mask_iou_inside_the_candidates():
    head = O2FCondInstBboxHead(
        num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1, strides=list(STRIDES),
        norm_cfg=None, norm_on_bbox=True, centerness_on_reg=True, conv_bias=True,
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=False),
        train_cfg=ConfigDict(assigner=dict(type='POTOAssigner', alpha=0.8, center_radius=1.5)))
    head.init_weights()
    cls_scores, bbox_preds, centernesses, param_preds = crafted_outputs(head)
    # stride-8 candidate (44, 68) (index 8 * 16 + 5) is confident: p = sigmoid(5)^2 = 0.9867;
    # elsewhere p = 0.25
    cls_scores[0][0, 1].view(-1)[133] = 5.0
    centernesses[0][0, 0].view(-1)[133] = 5.0
    seen = {}

    def fake_mask_iou(img_id, candidates, gt_instances):
        # mask IoU 0.5 at (52, 76), 0.45 at (44, 68), 0.1 elsewhere
        seen['points'] = as_point_sets(candidates.points, candidates.strides)
        at = [(candidates.points == torch.tensor(xy)).all(1) & (candidates.strides == 8)
              for xy in ([52.0, 76.0], [44.0, 68.0])]
        iou = torch.where(at[0], 0.5, torch.where(at[1], 0.45, 0.1))
        return iou[None].expand(len(gt_instances), -1)

    metas = [dict(img_shape=(SIZE, SIZE), batch_input_shape=(SIZE, SIZE))]
    head.loss_by_feat(cls_scores, bbox_preds, centernesses, param_preds, [l_shape_gt()], metas,
                      mask_quality_fn=fake_mask_iou)
    (info,) = head.get_positive_infos()
    assert seen['points'] == MASK_CENTRE_CANDIDATES
    # p^0.2 * IoU^0.8: (44, 68) 0.9973 * 0.45^0.8 = 0.527 beats (52, 76) 0.758 * 0.5^0.8 = 0.435
    # (the mask IoU alone would pick (52, 76))
    assert info.points.tolist() == [[44.0, 68.0]] and info.certain.all()
