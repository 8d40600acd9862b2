"""POTO baseline: Hungarian one-to-one assignment inside the centre region, and its head."""

from __future__ import annotations

import itertools

import pytest
import torch

pytest.importorskip('mmdet')

from mmengine.config import ConfigDict  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

import o2f_det  # noqa: E402,F401
from o2f_det import POTOAssigner, POTOHead  # noqa: E402


def brute_force_matching(quality: torch.Tensor) -> dict[int, int]:
    """Best one-to-one matching by enumerating every injective map objects -> points."""
    num_gts, num_points = quality.shape
    best, best_map = -float('inf'), None
    for columns in itertools.permutations(range(num_points), num_gts):
        total = sum(quality[g, c].item() for g, c in enumerate(columns))
        if total > best:
            best, best_map = total, columns
    return {g: c for g, c in enumerate(best_map) if quality[g, c] >= 0}


def test_matching_equals_brute_force_and_respects_candidates():
    generator = torch.Generator().manual_seed(3)
    quality = torch.rand(3, 6, generator=generator)
    quality[0, :4] = -1.0   # object 0 may only take points 4, 5
    quality[2, 5] = -1.0
    result = POTOAssigner().assign(torch.rand(6, 2), torch.rand(6, 4), torch.rand(6, 2),
                                   torch.full((6,), 8.0), torch.rand(3, 4),
                                   torch.tensor([0, 1, 1]), quality=quality)
    expected = brute_force_matching(quality)
    got = {int(result.assigned_gt[p]): p for p in range(6) if result.assigned_gt[p] >= 0}
    assert got == expected
    assert result.num_labelled == 3 and bool(result.certain.sum() == 3)
    labelled = result.assigned_gt >= 0
    assert torch.all(result.soft_targets[labelled] == 1)
    assert torch.all(result.weights[labelled] == 1)
    assert torch.all(result.soft_targets[~labelled] == 0)
    assert result.labels[labelled].tolist() == [[0, 1, 1][g]
                                                for g in result.assigned_gt[labelled].tolist()]


def test_quality_by_hand_and_region():
    # Two points at (12, 12) (inside the 1.5-stride square of the object centred at (16, 16))
    # and (40, 40) (outside): only the first is a candidate.
    points = torch.tensor([[12.0, 12.0], [40.0, 40.0]])
    pred = torch.tensor([[4.0, 4.0, 28.0, 28.0], [0.0, 0.0, 32.0, 32.0]])
    scores = torch.tensor([[0.5, 0.1], [0.9, 0.9]])
    gt = torch.tensor([[0.0, 0.0, 32.0, 32.0]])
    assigner = POTOAssigner(alpha=0.8, center_radius=1.5)
    quality = assigner.matching_quality(scores, pred, points, torch.tensor([8.0, 8.0]), gt,
                                        torch.tensor([0]))
    iou = (24 * 24) / (32 * 32)
    assert quality[0, 0].item() == pytest.approx(0.5 ** 0.2 * iou ** 0.8, rel=1e-6)
    assert quality[0, 1].item() == -1.0  # perfect box, but outside the centre region
    result = assigner.assign(scores, pred, points, torch.tensor([8.0, 8.0]), gt,
                             torch.tensor([0]))
    assert result.assigned_gt.tolist() == [0, -1]


def test_object_without_candidate_gets_nothing_and_empty_image():
    assigner = POTOAssigner()
    quality = torch.tensor([[-1.0, -1.0], [0.3, 0.2]])
    result = assigner.assign(torch.rand(2, 1), torch.rand(2, 4), torch.rand(2, 2),
                             torch.ones(2), torch.rand(2, 4), torch.tensor([0, 0]),
                             quality=quality)
    assert result.assigned_gt.tolist() == [1, -1]
    empty = assigner.assign(torch.rand(2, 1), torch.rand(2, 4), torch.rand(2, 2), torch.ones(2),
                            torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    assert empty.num_labelled == 0


def test_poto_head_trains_one_point_per_object():
    head = POTOHead(num_classes=2, in_channels=8, feat_channels=8, stacked_convs=1,
                    strides=[8, 16, 32], norm_cfg=None, norm_on_bbox=True,
                    train_cfg=ConfigDict(assigner=dict(alpha=0.8, center_radius=1.5),
                                         centerness_weighting=False),
                    test_cfg=ConfigDict(nms_pre=1000, score_thr=0.05, max_per_img=100))
    head.init_weights()
    feats = tuple(torch.randn(2, 8, 64 // s, 64 // s) for s in (8, 16, 32))
    gts = [InstanceData(bboxes=torch.tensor([[4.0, 6.0, 40.0, 50.0], [30.0, 20.0, 60.0, 44.0]]),
                        labels=torch.tensor([0, 1])),
           InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))]
    outs = head(feats)
    scores, boxes, points, strides = head.o2f_flatten(*outs)
    results = head.o2f_assign(scores, boxes, points, strides, gts)
    assert [r.num_labelled for r in results] == [2, 0]
    losses = head.loss_by_feat(*outs, gts, [dict(img_shape=(64, 64))] * 2)
    assert all(torch.isfinite(v) for v in losses.values())
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    assert head.conv_reg.weight.grad.abs().sum() > 0
