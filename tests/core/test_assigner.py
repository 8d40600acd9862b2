"""O2FAssigner and the o2f losses on hand-made scenes whose answers are worked out in the comments.

Conventions of the scenes: one FPN level of stride 8 unless stated, so a candidate square has
half-side 1.5 * 8 = 12 px; points are given explicitly.
"""

import math

import pytest
import torch

from o2f_core import O2FAssigner
from o2f_core.losses import box_loss, classification_loss


def bce(p, t):
    return -(t * math.log(p) + (1 - t) * math.log(1 - p))


def negative_term(p):
    return 0.75 * p * p * bce(p, 0.0)


def scene(points, probs, pred_boxes, num_classes=2, label_class=1, stride=8.0):
    """Scores where column ``label_class`` holds ``probs`` and the other class 0.1."""
    n = len(points)
    scores = torch.full((n, num_classes), 0.1)
    scores[:, label_class] = torch.tensor(probs)
    return (scores, torch.tensor(pred_boxes, dtype=torch.float32),
            torch.tensor(points, dtype=torch.float32), torch.full((n,), stride))


# One object [0, 0, 32, 32] of class 1, centre (16, 16): candidate square (4, 28) on both axes.
ONE_GT = torch.tensor([[0.0, 0.0, 32.0, 32.0]])
ONE_POINTS = [(12, 12), (20, 12), (12, 20), (20, 20), (4, 4), (36, 36)]
ONE_PROBS = [0.8, 0.9, 0.4, 0.5, 0.99, 0.7]
FULL, HALF = [0, 0, 32, 32], [0, 0, 32, 16]  # IoU with the object: 1.0 and 0.5
ONE_PRED = [FULL, HALF, FULL, HALF, FULL, FULL]


def test_single_object_by_hand():
    # alpha = 0.5 so S = sqrt(p * IoU): A .894, B .671, C .632, D .5; E sits on the square's edge
    # (not strictly inside) and F outside. Top 1 + 2 = A, B, C: A certain; B, C ambiguous with
    # t = p / max(0.9, 0.4) * T: B = T = 0.5, C = 0.4 / 0.9 * 0.5.
    assigner = O2FAssigner(num_ambiguous=2, alpha=0.5, center_radius=1.5, ambiguous_weight=0.4)
    scores, pred, points, strides = scene(ONE_POINTS, ONE_PROBS, ONE_PRED)
    res = assigner.assign(scores, pred, points, strides, ONE_GT, torch.tensor([1]), 0.5)

    assert res.assigned_gt.tolist() == [0, 0, 0, -1, -1, -1]
    assert res.labels.tolist() == [1, 1, 1, -1, -1, -1]
    assert res.certain.tolist() == [True, False, False, False, False, False]
    torch.testing.assert_close(res.soft_targets, torch.tensor([1.0, 0.5, 0.4 / 0.9 * 0.5, 0, 0, 0]))
    torch.testing.assert_close(res.weights, torch.tensor([1.0, 0.4, 0.4, 0, 0, 0]))
    assert not res.ignored.any()

    # Classification: every entry a negative, except the labelled entries at class 1.
    expected = sum(negative_term(0.1) for _ in ONE_POINTS)  # class 0 column
    expected += sum(negative_term(p) for p in ONE_PROBS[3:])
    expected += 1.0 * bce(0.8, 1.0) + 0.4 * bce(0.9, 0.5) + 0.4 * bce(0.4, 0.4 / 0.9 * 0.5)
    assert classification_loss(scores, res).item() == pytest.approx(expected, rel=1e-6)

    # Box: centerness of A, B, C in the object is sqrt(12/20 * 12/20) = 0.6 each; GIoU is 1 for
    # the full boxes and 0.5 for B's half box (its enclosing box is the object itself).
    box_sum, weight_sum = box_loss(pred, ONE_GT, points, res)
    assert box_sum.item() == pytest.approx(0.6 * 0.5, rel=1e-6)
    assert weight_sum.item() == pytest.approx(1.8, rel=1e-6)
    box_sum, weight_sum = box_loss(pred, ONE_GT, points, res, centerness_weighting=False)
    assert (box_sum.item(), weight_sum.item()) == pytest.approx((0.5, 3.0), rel=1e-6)


# Two objects: G0 [0, 0, 32, 32] (square (4, 28)) and G1 [8, 8, 40, 40] (square (12, 36)), both
# class 1. P (20, 20) is a candidate of both; Q (8, 8) only of G0; R (32, 32) only of G1.
TWO_GT = torch.tensor([[0.0, 0.0, 32.0, 32.0], [8.0, 8.0, 40.0, 40.0]])
TWO_POINTS = [(20, 20), (8, 8), (32, 32)]
TWO_PROBS = [0.9, 0.3, 0.2]
TWO_PRED = [[8, 8, 40, 40], [0, 0, 32, 8], [8, 8, 40, 40]]
# S = p^0.2 * IoU^0.8. G0: P 0.9^.2 * (576/1472)^.8 = 0.462 (IoU: 24*24 / (1024 + 1024 - 576)),
# Q 0.3^.2 * 0.25^.8 = 0.259. G1: P 0.9^.2 * 1 = 0.979, R 0.2^.2 * 1 = 0.725.


def test_conflict_goes_to_larger_score_without_replacement():
    # Top-1 only: both objects pick P; G1 ranks it higher (0.979 > 0.462), so G0 loses it and
    # takes no replacement although Q is still a candidate of G0.
    scores, pred, points, strides = scene(TWO_POINTS, TWO_PROBS, TWO_PRED)
    labels = torch.tensor([1, 1])
    res = O2FAssigner(num_ambiguous=0, alpha=0.8).assign(scores, pred, points, strides, TWO_GT,
                                                         labels, 0.6)
    assert res.assigned_gt.tolist() == [1, -1, -1]
    assert res.certain.tolist() == [True, False, False]

    # With one ambiguous anchor each: G0 picks {P, Q} and loses P, so its certain positive is Q,
    # its own second choice. G1 picks {P, R}: P certain, R ambiguous with t = 0.2 / 0.2 * T.
    res = O2FAssigner(num_ambiguous=1, alpha=0.8).assign(scores, pred, points, strides, TWO_GT,
                                                         labels, 0.6)
    assert res.assigned_gt.tolist() == [1, 0, 1]
    assert res.certain.tolist() == [True, True, False]
    torch.testing.assert_close(res.soft_targets, torch.tensor([1.0, 1.0, 0.6]))


def test_object_with_one_candidate_and_object_with_none():
    # G0 [97, 97, 105, 105]: only the point (100, 100) lies inside its clipped square -> k = 1:
    # a certain positive and no ambiguous anchor. G1 [200, 200, 203, 203] contains no point.
    points = [(100, 100), (108, 100), (100, 108), (201.5, 207)]
    scores, pred, points_t, strides = scene(points, [0.5, 0.6, 0.7, 0.8],
                                            [[96, 96, 104, 104]] * 4)
    gts = torch.tensor([[97.0, 97.0, 105.0, 105.0], [200.0, 200.0, 203.0, 203.0]])
    res = O2FAssigner(num_ambiguous=7).assign(scores, pred, points_t, strides, gts,
                                              torch.tensor([1, 0]), 0.6)
    assert res.assigned_gt.tolist() == [0, -1, -1, -1]
    assert res.certain.tolist() == [True, False, False, False]
    assert res.soft_targets.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_candidate_with_zero_iou_is_never_labelled():
    # Zero-size and far-away predicted boxes have IoU 0: k is capped at the one candidate with
    # IoU > 0, and nothing becomes NaN.
    preds = [FULL, [12, 12, 12, 12], [100, 100, 110, 110], [20, 20, 20, 30]]
    scores, pred, points, strides = scene(ONE_POINTS[:4], ONE_PROBS[:4], preds)
    res = O2FAssigner(num_ambiguous=7).assign(scores, pred, points, strides, ONE_GT,
                                              torch.tensor([1]), 0.6)
    assert res.assigned_gt.tolist() == [0, -1, -1, -1]
    box_sum, weight_sum = box_loss(pred, ONE_GT, points, res)
    assert torch.isfinite(box_sum) and box_sum.item() == pytest.approx(0.0, abs=1e-6)


def test_no_object_all_negative_and_box_loss_exact_zero_with_gradient():
    scores, pred, points, strides = scene(ONE_POINTS, ONE_PROBS, ONE_PRED)
    scores.requires_grad_(True)
    pred.requires_grad_(True)
    res = O2FAssigner().assign(scores, pred, points, strides, torch.zeros((0, 4)),
                               torch.zeros((0,), dtype=torch.long), 0.6)
    assert (res.assigned_gt == -1).all() and (res.labels == -1).all()
    assert res.soft_targets.abs().sum() == 0 and res.weights.abs().sum() == 0
    assert res.num_labelled == 0
    expected = (sum(negative_term(0.1) for _ in ONE_POINTS)
                + sum(negative_term(p) for p in ONE_PROBS))
    cls = classification_loss(scores, res)
    assert cls.item() == pytest.approx(expected, rel=1e-6)
    box_sum, weight_sum = box_loss(pred, torch.zeros((0, 4)), points, res)
    assert box_sum.item() == 0.0 and weight_sum.item() == 0.0
    (cls + box_sum).backward()
    assert pred.grad is not None and pred.grad.abs().sum() == 0
    assert scores.grad.abs().sum() > 0


def test_gt_centers_move_the_candidate_square():
    # Box [0, 0, 64, 16]: its centre (32, 8) gives the square x in (20, 44); a centre of mass at
    # (8, 8) gives x in (-4, 20) clipped to the box -> (0, 20). Points along y = 8.
    xs = [4, 12, 28, 36, 52]
    points = torch.tensor([[x, 8.0] for x in xs])
    strides = torch.full((5,), 8.0)
    assigner = O2FAssigner()
    box = torch.tensor([[0.0, 0.0, 64.0, 16.0]])
    assert assigner.candidate_mask(points, strides, box, torch.tensor([[32.0, 8.0]]))[0].tolist() \
        == [False, False, True, True, False]
    assert assigner.candidate_mask(points, strides, box, torch.tensor([[8.0, 8.0]]))[0].tolist() \
        == [True, True, False, False, False]
    scores = torch.full((5, 1), 0.5)
    pred = box.repeat(5, 1)
    res = assigner.assign(scores, pred, points, strides, box, torch.tensor([0]), 0.6,
                          gt_centers=torch.tensor([[8.0, 8.0]]))
    assert res.labelled.tolist() == [True, True, False, False, False]


def test_ignore_regions_drop_unlabelled_points_from_the_loss():
    # The ignore box [30, 30, 40, 40] holds F (36, 36), an unlabelled point: its row adds nothing.
    scores, pred, points, strides = scene(ONE_POINTS, ONE_PROBS, ONE_PRED)
    assigner = O2FAssigner(num_ambiguous=2, alpha=0.5, ambiguous_weight=0.4)
    plain = assigner.assign(scores, pred, points, strides, ONE_GT, torch.tensor([1]), 0.5)
    ignoring = assigner.assign(scores, pred, points, strides, ONE_GT, torch.tensor([1]), 0.5,
                               ignore_boxes=torch.tensor([[30.0, 30.0, 40.0, 40.0],
                                                          [0.0, 0.0, 13.0, 13.0]]))
    # A (12, 12) is inside the second ignore box but labelled: labels win over ignore regions.
    assert ignoring.ignored.tolist() == [False, False, False, False, True, True]
    assert ignoring.assigned_gt.tolist() == plain.assigned_gt.tolist()
    dropped = negative_term(0.1) * 2 + negative_term(0.99) + negative_term(0.7)  # E and F rows
    assert (classification_loss(scores, plain) - classification_loss(scores, ignoring)).item() \
        == pytest.approx(dropped, rel=1e-5)


def test_quality_override_replaces_iou():
    # With a quality that prefers D (20, 20), D becomes the certain positive.
    scores, pred, points, strides = scene(ONE_POINTS, [0.5] * 6, ONE_PRED)
    quality = torch.tensor([[0.2, 0.3, 0.4, 0.9, 1.0, 1.0]])
    res = O2FAssigner(num_ambiguous=1).assign(scores, pred, points, strides, ONE_GT,
                                              torch.tensor([1]), 0.6, quality=quality)
    assert res.certain.nonzero().flatten().tolist() == [3]
    assert res.labelled.nonzero().flatten().tolist() == [2, 3]


@pytest.mark.parametrize("bad", ["scores_nan", "boxes_inf", "gt_nan", "label_range", "shape"])
def test_bad_inputs_raise_clear_errors(bad):
    scores, pred, points, strides = scene(ONE_POINTS, ONE_PROBS, ONE_PRED)
    gts, labels = ONE_GT.clone(), torch.tensor([1])
    if bad == "scores_nan":
        scores[2, 1] = float("nan")
    elif bad == "boxes_inf":
        pred[0, 2] = float("inf")
    elif bad == "gt_nan":
        gts[0, 0] = float("nan")
    elif bad == "label_range":
        labels = torch.tensor([5])
    elif bad == "shape":
        pred = pred[:, :3]
    with pytest.raises(ValueError, match="O2FAssigner.assign: "):
        O2FAssigner().assign(scores, pred, points, strides, gts, labels, 0.6)


def test_float16_inputs_give_the_float32_decisions():
    scores, pred, points, strides = scene(ONE_POINTS, ONE_PROBS, ONE_PRED)
    assigner = O2FAssigner(num_ambiguous=2, alpha=0.5)
    full = assigner.assign(scores, pred, points, strides, ONE_GT, torch.tensor([1]), 0.5)
    half = assigner.assign(scores.half(), pred.half(), points.half(), strides.half(),
                           ONE_GT.half(), torch.tensor([1]), 0.5)
    assert half.assigned_gt.tolist() == full.assigned_gt.tolist()
    assert half.soft_targets.dtype == torch.float32
    torch.testing.assert_close(half.soft_targets, full.soft_targets, atol=1e-3, rtol=0)
    assert torch.isfinite(classification_loss(scores.half(), half))


def test_assignment_carries_no_gradient():
    scores, pred, points, strides = scene(ONE_POINTS, ONE_PROBS, ONE_PRED)
    scores.requires_grad_(True)
    res = O2FAssigner().assign(scores, pred, points, strides, ONE_GT, torch.tensor([1]), 0.6)
    assert not res.soft_targets.requires_grad and not res.weights.requires_grad


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    scores, pred, points, strides = scene(ONE_POINTS, ONE_PROBS, ONE_PRED)
    assigner = O2FAssigner(num_ambiguous=2, alpha=0.5)
    cpu = assigner.assign(scores, pred, points, strides, ONE_GT, torch.tensor([1]), 0.5)
    gpu = assigner.assign(scores.cuda(), pred.cuda(), points.cuda(), strides.cuda(),
                          ONE_GT.cuda(), torch.tensor([1]).cuda(), 0.5)
    assert gpu.assigned_gt.device.type == "cuda"
    assert gpu.assigned_gt.cpu().tolist() == cpu.assigned_gt.tolist()
    torch.testing.assert_close(gpu.soft_targets.cpu(), cpu.soft_targets)


# Two candidates of ONE_GT whose order flips with the ranking (alpha = 0.5):
#   A at (12, 12): p = 0.81, box [0, 0, 32, 8]     IoU 0.25: multiply sqrt(.2025) = .45, add .53
#   B at (20, 20): p = 0.36, box [0, 0, 32, 20.48] IoU 0.64: multiply sqrt(.2304) = .48, add .50
RANKING_POINTS = [(12, 12), (20, 20)]
RANKING_PROBS = [0.81, 0.36]
RANKING_PRED = [[0, 0, 32, 8], [0, 0, 32, 20.48]]


@pytest.mark.parametrize('ranking, certain_point', [('multiply', 1), ('add', 0)])
def test_ranking_multiply_and_add_pick_different_anchors(ranking, certain_point):
    from o2f_core.assigner import ranking_score

    prob, iou = torch.tensor([0.81, 0.36]), torch.tensor([0.25, 0.64])
    expected = {'multiply': [0.45, 0.48], 'add': [0.53, 0.50]}[ranking]
    torch.testing.assert_close(ranking_score(prob, iou, 0.5, ranking), torch.tensor(expected))
    assigner = O2FAssigner(num_ambiguous=0, alpha=0.5, ranking=ranking)
    scores, pred, points, strides = scene(RANKING_POINTS, RANKING_PROBS, RANKING_PRED)
    res = assigner.assign(scores, pred, points, strides, ONE_GT, torch.tensor([1]), 0.5)
    assert res.certain.nonzero().flatten().tolist() == [certain_point]
    assert res.num_labelled == 1


def test_add_ranking_never_labels_a_point_without_overlap():
    # Two of three candidates overlap the object, so k = 2. Without the zero for IoU = 0, A would
    # rank (1 - .5) * .99 = .495 above C's .5 * .3 + .5 * .5 = .4 (B: .1 + .5 = .6).
    assigner = O2FAssigner(num_ambiguous=2, alpha=0.5, ranking='add')
    scores, pred, points, strides = scene([(12, 12), (20, 20), (12, 20)], [0.99, 0.2, 0.3],
                                          [[40, 40, 50, 50], FULL, HALF])
    res = assigner.assign(scores, pred, points, strides, ONE_GT, torch.tensor([1]), 0.5)
    assert res.assigned_gt.tolist() == [-1, 0, 0]
    assert res.certain.tolist() == [False, True, False]


def test_ranking_must_be_known():
    with pytest.raises(ValueError, match="ranking must be one of"):
        O2FAssigner(ranking='sum')
