"""The vectorised assigner and losses against (1) the official code's outputs on one real image and
(2) a deliberately naive loop implementation of the written rules on 200 random scenes."""

import math
import random
from pathlib import Path

import pytest
import torch

from o2f_core import OFFICIAL_PRESET, PAPER_PRESET, O2FAssigner
from o2f_core.losses import box_loss, classification_loss

WORKED_EXAMPLE = Path(__file__).resolve().parents[1] / "data/o2f_worked_example/single_object.pt"


@pytest.fixture(scope="module")
def worked_example():
    return torch.load(WORKED_EXAMPLE, weights_only=True)


def _assign_worked_example(example, preset):
    scores = torch.sigmoid(example["cls_logits"]) * torch.sigmoid(example["ctr_logits"])[:, None]
    result = O2FAssigner(**preset).assign(
        scores, example["pred_boxes"], example["points"], example["strides"],
        example["gt_bboxes"], example["gt_labels"], float(example["T"]))
    loss_cls = classification_loss(scores, result) / max(result.num_labelled, 1)
    box_sum, weight_sum = box_loss(example["pred_boxes"], example["gt_bboxes"], example["points"],
                                   result)
    return result, loss_cls, 2.0 * box_sum / weight_sum  # the official box loss weight is 2.0


def test_worked_example_official_preset(worked_example):
    ex = worked_example
    assert int(ex["o2f_topk"]) == 1 + OFFICIAL_PRESET["num_ambiguous"]
    assert float(ex["soft_weight"]) == OFFICIAL_PRESET["ambiguous_weight"]
    res, loss_cls, loss_bbox = _assign_worked_example(ex, OFFICIAL_PRESET)
    assert torch.equal(res.labelled, ex["labelled"].bool())
    assert torch.equal(res.certain, ex["certain"].bool())
    assert torch.equal(res.assigned_gt, ex["assigned_gt"].long())
    target = torch.zeros_like(ex["cls_target"])
    idx = res.labelled.nonzero(as_tuple=True)[0]
    target[idx, res.labels[idx]] = res.soft_targets[idx]
    torch.testing.assert_close(target, ex["cls_target"].float(), atol=1e-6, rtol=0)
    torch.testing.assert_close(res.weights, ex["label_weight"].float(), atol=1e-6, rtol=0)
    assert loss_cls.item() == pytest.approx(ex["loss_cls"].item(), rel=1e-5)
    assert loss_bbox.item() == pytest.approx(ex["loss_bbox"].item(), rel=1e-5)


def test_worked_example_paper_preset(worked_example):
    ex = worked_example
    res, loss_cls, loss_bbox = _assign_worked_example(ex, PAPER_PRESET)
    idx = res.labelled.nonzero(as_tuple=True)[0]
    assert idx.tolist() == ex["paper_labelled_idx"].tolist()
    assert res.certain.nonzero(as_tuple=True)[0].tolist() == ex["paper_certain_idx"].tolist()
    assert res.assigned_gt[idx].tolist() == ex["paper_assigned_gt"].tolist()
    torch.testing.assert_close(res.soft_targets[idx], ex["paper_soft_target"].float(), atol=1e-6,
                               rtol=0)
    torch.testing.assert_close(res.weights[idx], ex["paper_weight"].float(), atol=1e-6, rtol=0)
    assert res.soft_targets[idx][~res.certain[idx]].max().item() == pytest.approx(float(ex["T"]))
    assert loss_cls.item() == pytest.approx(ex["paper_loss_cls"].item(), rel=1e-5)
    assert loss_bbox.item() == pytest.approx(ex["paper_loss_bbox"].item(), rel=1e-5)


# --------------------------------------------------------------------------------------------
# A naive implementation: plain Python floats (float64) and loops over objects and points.

class NearTie(Exception):
    """Two ranking scores closer than float32 can order reliably: the scene is redrawn."""


def _close(a, b):
    return abs(a - b) <= 1e-5 * max(abs(a), abs(b), 1e-12)


def naive_assign(scores, pred, points, strides, gts, labels, T, num_ambiguous, alpha, center_radius,
                 ambiguous_weight, stats=None):
    n, m = len(points), len(gts)
    ranking = [[0.0] * n for _ in range(m)]
    iou = [[0.0] * n for _ in range(m)]
    for j, (gx1, gy1, gx2, gy2) in enumerate(gts):
        cx, cy = (gx1 + gx2) / 2, (gy1 + gy2) / 2
        for i, (px, py) in enumerate(points):
            r = center_radius * strides[i]
            inside = (max(cx - r, gx1) < px < min(cx + r, gx2)
                      and max(cy - r, gy1) < py < min(cy + r, gy2))
            bx1, by1, bx2, by2 = pred[i]
            iw = max(0.0, min(bx2, gx2) - max(bx1, gx1))
            ih = max(0.0, min(by2, gy2) - max(by1, gy1))
            union = max((gx2 - gx1) * (gy2 - gy1) + max(0, bx2 - bx1) * max(0, by2 - by1)
                        - iw * ih, 1e-6)
            iou[j][i] = iw * ih / union
            if inside:
                p = scores[i][labels[j]]
                ranking[j][i] = p ** (1 - alpha) * iou[j][i] ** alpha
    picks = []
    for j in range(m):
        count = sum(1 for i in range(n) if ranking[j][i] > 0 and iou[j][i] > 0)
        k = min(1 + num_ambiguous, count)
        order = sorted(range(n), key=lambda i: -ranking[j][i])
        for a, b in zip(order[:k], order[1:k + 1]):
            if ranking[j][a] > 0 and _close(ranking[j][a], ranking[j][b]):
                raise NearTie
        picks.append({i for i in order[:k] if ranking[j][i] > 0})
    owner = [-1] * n
    for i in range(n):
        wanting = [j for j in range(m) if i in picks[j]]
        if len(wanting) > 1 and stats is not None:
            stats["contested"] += 1
        if wanting:
            best = max(wanting, key=lambda j: ranking[j][i])
            if any(j != best and _close(ranking[j][i], ranking[best][i]) for j in wanting):
                raise NearTie
            owner[i] = best
    targets, weights, certain = [0.0] * n, [0.0] * n, [False] * n
    for j in range(m):
        kept = sorted((i for i in range(n) if owner[i] == j), key=lambda i: -ranking[j][i])
        if not kept:
            continue
        certain[kept[0]] = True
        targets[kept[0]], weights[kept[0]] = 1.0, 1.0
        amb = kept[1:]
        if amb:
            top = max(scores[i][labels[j]] for i in amb)
            for i in amb:
                targets[i] = scores[i][labels[j]] / top * T
                weights[i] = ambiguous_weight
    return owner, targets, weights, certain


def naive_losses(scores, pred, points, gts, labels, owner, targets, weights):
    cls = 0.0
    for i, row in enumerate(scores):
        for c, p in enumerate(row):
            if owner[i] >= 0 and c == labels[owner[i]]:
                t = targets[i]
                cls += weights[i] * -(t * math.log(p) + (1 - t) * math.log(1 - p))
            else:
                cls += 0.75 * p * p * -math.log(1 - p)
    box, wsum = 0.0, 0.0
    for i, j in enumerate(owner):
        if j < 0:
            continue
        gx1, gy1, gx2, gy2 = gts[j]
        bx1, by1, bx2, by2 = pred[i]
        px, py = points[i]
        left, right, top, bottom = px - gx1, gx2 - px, py - gy1, gy2 - py
        w = math.sqrt(min(left, right) / max(left, right) * min(top, bottom) / max(top, bottom))
        iw = max(0.0, min(bx2, gx2) - max(bx1, gx1))
        ih = max(0.0, min(by2, gy2) - max(by1, gy1))
        inter = iw * ih
        union = max((gx2 - gx1) * (gy2 - gy1) + (bx2 - bx1) * (by2 - by1) - inter, 1e-6)
        enclose = max((max(bx2, gx2) - min(bx1, gx1)) * (max(by2, gy2) - min(by1, gy1)), 1e-6)
        giou = inter / union - (enclose - union) / enclose
        box += w * (1 - giou)
        wsum += w
    return cls, box, wsum


def random_scene(rng, num_classes=3):
    """Two levels (strides 8, 16) on a 96x96 image, 0-5 objects, random scores and boxes."""
    points, strides = [], []
    for stride in (8, 16):
        cells = 96 // stride
        for iy in range(cells):
            for ix in range(cells):
                points.append(((ix + 0.5) * stride, (iy + 0.5) * stride))
                strides.append(float(stride))
    n = len(points)
    scores = [[rng.uniform(0.01, 0.95) for _ in range(num_classes)] for _ in range(n)]
    pred = []
    for px, py in points:
        left, top, right, bottom = (rng.uniform(0, 30) for _ in range(4))
        pred.append((px - left, py - top, px + right, py + bottom))
    gts, labels = [], []
    for _ in range(rng.randint(0, 5)):
        w, h = rng.uniform(4, 70), rng.uniform(4, 70)
        x1, y1 = rng.uniform(0, 96 - w), rng.uniform(0, 96 - h)
        gts.append((x1, y1, x1 + w, y1 + h))
        labels.append(rng.randrange(num_classes))
    return scores, pred, points, strides, gts, labels


@pytest.mark.parametrize("preset", [PAPER_PRESET, OFFICIAL_PRESET], ids=["paper", "official"])
def test_vectorised_matches_naive_loops_on_200_scenes(preset):
    rng = random.Random(1234)
    checked = labelled_total = 0
    stats = {"contested": 0}
    while checked < 200:
        scores, pred, points, strides, gts, labels = random_scene(rng)
        # Round-trip through float32 so both implementations see the same numbers.
        t_scores = torch.tensor(scores, dtype=torch.float32)
        t_pred = torch.tensor(pred, dtype=torch.float32)
        t_points = torch.tensor(points, dtype=torch.float32)
        t_gts = torch.tensor(gts, dtype=torch.float32).reshape(-1, 4)
        scores, pred, gts = t_scores.tolist(), t_pred.tolist(), t_gts.tolist()
        T = rng.uniform(0.2, 0.6)
        try:
            owner, targets, weights, certain = naive_assign(
                scores, pred, points, strides, gts, labels, T, **preset, stats=stats)
        except NearTie:
            continue
        res = O2FAssigner(**preset).assign(t_scores, t_pred, t_points, torch.tensor(strides),
                                           t_gts, torch.tensor(labels, dtype=torch.long), T)
        assert res.assigned_gt.tolist() == owner
        assert res.certain.tolist() == certain
        torch.testing.assert_close(res.soft_targets, torch.tensor(targets, dtype=torch.float32),
                                   atol=1e-6, rtol=0)
        torch.testing.assert_close(res.weights, torch.tensor(weights, dtype=torch.float32))
        cls, box, wsum = naive_losses(scores, pred, points, gts, labels, owner, targets, weights)
        assert classification_loss(t_scores, res).item() == pytest.approx(cls, rel=1e-5)
        box_sum, weight_sum = box_loss(t_pred, t_gts, t_points, res)
        assert box_sum.item() == pytest.approx(box, rel=1e-5, abs=1e-6)
        assert weight_sum.item() == pytest.approx(wsum, rel=1e-5, abs=1e-6)
        checked += 1
        labelled_total += sum(o >= 0 for o in owner)
    # The scenes must exercise the rules, not only empty images.
    assert labelled_total > 500 and stats["contested"] > 20
