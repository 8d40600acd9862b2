"""Duplicate rate on hand-made scenes (IoUs worked out in the comments)."""

import numpy as np
import pytest

from o2f_core.duplicate_rate import DuplicateCount, count_duplicates, pairwise_iou

# A = (0,0,10,10), B = (4,0,14,10): IoU(A, B) = 60 / 140 = 0.43 (not an overlap at 0.5).
GT_AB = np.array([[0, 0, 10, 10], [4, 0, 14, 10]], dtype=float)
# X = (1,0,11,10): IoU(X, A) = 90 / 110 = 0.818, IoU(X, B) = 70 / 130 = 0.538 -> overlaps both.
# Y = A exactly: IoU(Y, A) = 1, IoU(Y, B) = 0.43 -> overlaps A only.
X, Y = [1, 0, 11, 10], [0, 0, 10, 10]


def test_pairwise_iou_by_hand():
    iou = pairwise_iou(np.array([X, Y], dtype=float), GT_AB)
    np.testing.assert_allclose(iou, [[90 / 110, 70 / 130], [1.0, 60 / 140]])
    assert pairwise_iou(np.zeros((0, 4)), GT_AB).shape == (0, 2)


def test_score_order_decides_who_is_the_duplicate():
    # X first (0.9) takes A (its best overlap); Y then overlaps only A, already taken -> duplicate.
    first = count_duplicates([X, Y], [0.9, 0.8], [0, 0], GT_AB, [0, 0])
    assert first == DuplicateCount(2, 1) and first.rate == 0.5
    # Y first takes A; X then still has B free -> two true positives, no duplicate.
    assert count_duplicates([X, Y], [0.8, 0.9], [0, 0], GT_AB, [0, 0]) == DuplicateCount(2, 0)


def test_mixed_scene():
    gts = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], dtype=float)
    dets = [[0, 0, 10, 10],      # 0.9: takes gt 0
            [0, 0, 10, 9],       # 0.8: IoU 0.9 with gt 0 (taken) -> duplicate
            [20, 0, 30, 10],     # 0.7: takes gt 1
            [0, 0, 10, 10],      # 0.6, class 1: no object of class 1 -> plain false positive
            [100, 100, 110, 110],  # 0.5: overlaps nothing -> plain false positive
            [0, 0, 10, 10]]      # 0.2: below the 0.3 threshold -> not counted
    count = count_duplicates(dets, [0.9, 0.8, 0.7, 0.6, 0.5, 0.2], [0, 0, 0, 1, 0, 0], gts, [0, 0])
    assert count == DuplicateCount(5, 1)
    assert count.rate == pytest.approx(0.2)


def test_thresholds_are_used():
    # score_thr 0.85 keeps X only.
    assert count_duplicates([X, Y], [0.9, 0.8], [0, 0], GT_AB, [0, 0],
                            score_thr=0.85) == DuplicateCount(1, 0)
    # iou_thr 0.9: X (0.818 with A) overlaps nothing, Y takes A -> no duplicate.
    assert count_duplicates([X, Y], [0.9, 0.8], [0, 0], GT_AB, [0, 0],
                            iou_thr=0.9) == DuplicateCount(2, 0)


def test_empty_inputs_and_sums():
    assert count_duplicates(np.zeros((0, 4)), [], [], GT_AB, [0, 0]) == DuplicateCount(0, 0)
    no_gt = count_duplicates([X, Y], [0.9, 0.8], [0, 0], np.zeros((0, 4)), [])
    assert no_gt == DuplicateCount(2, 0)
    total = DuplicateCount(2, 1) + DuplicateCount(3, 0)
    assert total == DuplicateCount(5, 1) and total.rate == pytest.approx(0.2)
    assert DuplicateCount().rate == 0.0
