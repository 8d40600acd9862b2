"""POTO baseline: Hungarian one-to-one matching inside the centre region, as a TASK_UTILS assigner
on the o2f head (a config change, no head subclass)."""

from __future__ import annotations

import itertools

import pytest
import torch

pytest.importorskip('mmdet')

from mmdet.registry import TASK_UTILS  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

import o2f_det  # noqa: E402,F401
from o2f_core.poto import NOT_A_CANDIDATE, hungarian_match  # noqa: E402
from o2f_det import O2FHead, POTOAssigner  # noqa: E402

POTO_TRAIN_CFG = dict(assigner=dict(type='POTOAssigner', alpha=0.8, center_radius=1.5))


def brute_force_matching(quality: torch.Tensor) -> dict[int, int]:
    """Best one-to-one matching by enumerating every injective map objects -> points."""
    num_gts, num_points = quality.shape
    best, best_map = -float('inf'), None
    for columns in itertools.permutations(range(num_points), num_gts):
        total = sum(quality[g, c].item() for g, c in enumerate(columns))
        if total > best:
            best, best_map = total, columns
    return {g: c for g, c in enumerate(best_map) if quality[g, c] > NOT_A_CANDIDATE}


@pytest.mark.parametrize('seed', [3, 4, 5])
def test_matching_equals_brute_force_and_respects_candidates(seed):
    generator = torch.Generator().manual_seed(seed)
    quality = torch.rand(3, 6, generator=generator)
    quality[0, :4] = NOT_A_CANDIDATE   # object 0 may only take points 4, 5
    quality[2, 5] = NOT_A_CANDIDATE
    gt_idx, point_idx = hungarian_match(quality)
    assert dict(zip(gt_idx.tolist(), point_idx.tolist(), strict=True)) == \
        brute_force_matching(quality)


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
    assert quality[0, 1].item() == NOT_A_CANDIDATE  # perfect box, but outside the centre region
    add = POTOAssigner(alpha=0.8, ranking='add').matching_quality(
        scores, pred, points, torch.tensor([8.0, 8.0]), gt, torch.tensor([0]))
    assert add[0, 0].item() == pytest.approx(0.2 * 0.5 + 0.8 * iou, rel=1e-6)
    result = assigner.assign(scores, pred, points, torch.tensor([8.0, 8.0]), gt,
                             torch.tensor([0]))
    assert result.assigned_gt.tolist() == [0, -1]
    assert result.soft_targets.tolist() == [1.0, 0.0] and result.certain.tolist() == [True, False]


@pytest.mark.parametrize('ranking, matched', [('multiply', 1), ('add', 0)])
def test_ranking_changes_the_match(ranking, matched):
    # As tests/core: A p .81 IoU .25 (multiply .45, add .53), B p .36 IoU .64 (.48, .50).
    points = torch.tensor([[12.0, 12.0], [20.0, 20.0]])
    scores = torch.tensor([[0.81], [0.36]])
    pred = torch.tensor([[0.0, 0.0, 32.0, 8.0], [0.0, 0.0, 32.0, 20.48]])
    result = POTOAssigner(alpha=0.5, ranking=ranking).assign(
        scores, pred, points, torch.full((2,), 8.0), torch.tensor([[0.0, 0.0, 32.0, 32.0]]),
        torch.tensor([0]))
    assert result.certain.nonzero().flatten().tolist() == [matched]


def test_quality_replaces_the_iou_inside_the_region():
    # quality = a mask IoU (M, N): it replaces the box IoU, the centre region still applies.
    points = torch.tensor([[12.0, 12.0], [20.0, 20.0], [40.0, 40.0]])
    scores = torch.full((3, 1), 0.5)
    pred = torch.tensor([[0.0, 0.0, 32.0, 32.0]] * 3)  # same box IoU everywhere
    mask_iou = torch.tensor([[0.2, 0.7, 0.9]])          # best at (40, 40): not a candidate
    result = POTOAssigner().assign(scores, pred, points, torch.full((3,), 8.0),
                                   torch.tensor([[0.0, 0.0, 32.0, 32.0]]), torch.tensor([0]),
                                   quality=mask_iou)
    assert result.assigned_gt.tolist() == [-1, 0, -1]


def test_object_without_candidate_gets_nothing_and_empty_image():
    assigner = POTOAssigner()
    # Object 0 far from both points (no candidate), object 1 centred on them.
    points = torch.tensor([[12.0, 12.0], [20.0, 20.0]])
    gts = torch.tensor([[100.0, 100.0, 120.0, 120.0], [0.0, 0.0, 32.0, 32.0]])
    pred = torch.tensor([[0.0, 0.0, 32.0, 32.0], [0.0, 0.0, 16.0, 16.0]])
    result = assigner.assign(torch.full((2, 1), 0.5), pred, points, torch.full((2,), 8.0), gts,
                             torch.tensor([0, 0]))
    assert result.assigned_gt.tolist() == [1, -1]
    empty = assigner.assign(torch.rand(2, 1), torch.rand(2, 4), torch.rand(2, 2), torch.ones(2),
                            torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    assert empty.num_labelled == 0


def test_task_utils_adapter_returns_mmdet_assign_result():
    assigner = TASK_UTILS.build(dict(type='POTOAssigner', alpha=0.8))
    points = torch.tensor([[12.0, 12.0], [40.0, 40.0], [20.0, 20.0]])
    preds = InstanceData(priors=torch.cat([points, torch.full((3, 2), 8.0)], 1),  # with strides
                         scores=torch.tensor([[0.5], [0.9], [0.2]]),
                         bboxes=torch.tensor([[4.0, 4.0, 28.0, 28.0]] * 3))
    gts = InstanceData(bboxes=torch.tensor([[0.0, 0.0, 32.0, 32.0]]), labels=torch.tensor([0]))
    ignore = InstanceData(bboxes=torch.tensor([[36.0, 36.0, 44.0, 44.0]]))
    result = assigner.assign(preds, gts, ignore)
    # (12, 12) wins (p .5 > .2, same IoU); (40, 40) lies in the ignore box; (20, 20) negative.
    assert result.gt_inds.tolist() == [1, -1, 0] and result.num_gts == 1
    assert result.labels.tolist() == [0, -1, -1]
    assert result.max_overlaps[0].item() == pytest.approx(24 * 24 / (32 * 32))
    assert result.get_extra_property('soft_targets').tolist() == [1.0, 0.0, 0.0]


def make_poto_head() -> O2FHead:
    head = O2FHead(num_classes=2, in_channels=8, feat_channels=8, stacked_convs=1,
                   strides=[8, 16, 32], norm_cfg=None, norm_on_bbox=True,
                   loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=False),
                   train_cfg=ConfigDict(POTO_TRAIN_CFG),
                   test_cfg=ConfigDict(nms_pre=1000, score_thr=0.05, max_per_img=100))
    head.init_weights()
    return head


def test_poto_is_the_o2f_head_with_the_poto_assigner_and_needs_no_temperature():
    head = make_poto_head()
    assert type(head) is O2FHead and head.temperature is None
    feats = tuple(torch.randn(2, 8, 64 // s, 64 // s) for s in (8, 16, 32))
    gts = [InstanceData(bboxes=torch.tensor([[4.0, 6.0, 40.0, 50.0], [30.0, 20.0, 60.0, 44.0]]),
                        labels=torch.tensor([0, 1])),
           InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))]
    outs = head(feats)
    scores, boxes, points, strides = head.o2f_flatten(*outs)
    results = head.o2f_assign(scores, boxes, points, strides, gts)
    assert [r.num_labelled for r in results] == [2, 0]
    assert all(bool(r.certain[r.labelled].all()) for r in results)
    # Same matches as the core assigner on the same inputs.
    core = POTOAssigner(alpha=0.8, center_radius=1.5).assign(
        scores[0].detach(), boxes[0].detach(), points, strides, gts[0].bboxes, gts[0].labels)
    assert torch.equal(results[0].assigned_gt, core.assigned_gt)
    losses = head.loss_by_feat(*outs, gts, [dict(img_shape=(64, 64))] * 2)
    assert all(torch.isfinite(v) for v in losses.values())
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    assert head.conv_reg.weight.grad.abs().sum() > 0


def test_removed_poto_head_names_are_not_registered():
    from mmdet.registry import MODELS

    assert MODELS.get('POTOHead') is None and MODELS.get('POTOCondInstBboxHead') is None
