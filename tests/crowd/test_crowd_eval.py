"""The CrowdHuman evaluator: the worked example, one hand-computed case per rule, edge cases.

Expected numbers are worked out by hand in the comments (or, for the matchings, by brute force).
These tests need only numpy and scipy.
"""

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from o2f_crowd.evaluation import (
    OdgtFormatError,
    clip_boxes,
    evaluate,
    greedy_match,
    load_odgt,
    max_weight_matching,
    pairwise_iou,
)

# A copy of shared/data/crowd_worked_example (three hand-made images, see crowdhuman_eval.md).
WORKED = Path(__file__).resolve().parent / "data" / "worked_example"


def gt_record(image_id, persons=(), ignores=(), height=100, width=200, extra_ignored=()):
    """A gt line: persons (tag person), ignores (tag mask), extra_ignored (person, extra.ignore=1)."""
    boxes = [{"tag": "person", "fbox": list(b), "extra": {"box_id": 0}} for b in persons]
    boxes += [{"tag": "mask", "fbox": list(b), "extra": {"ignore": 1}} for b in ignores]
    boxes += [{"tag": "person", "fbox": list(b), "extra": {"ignore": 1}} for b in extra_ignored]
    record = {"ID": image_id, "gtboxes": boxes}
    if height is not None:
        record.update(height=height, width=width)
    return record


def dt_record(image_id, dets, **size):
    """A detection line from (x, y, w, h, score) tuples."""
    return {"ID": image_id, **size,
            "dtboxes": [{"box": list(d[:4]), "score": d[4], "tag": 1} for d in dets]}


def test_worked_example_matches_the_reference_to_the_last_bits():
    result = evaluate(load_odgt(WORKED / "gt.odgt", "gt"), load_odgt(WORKED / "dt.odgt", "dt"))
    assert result["AP"] == pytest.approx(0.29821428571428577, abs=1e-12, rel=0)
    assert result["mMR"] == pytest.approx(0.7645695512713031, abs=1e-12, rel=0)
    assert result["Recall"] == pytest.approx(0.5555555555555556, abs=1e-12, rel=0)
    assert result["JI"] == pytest.approx(0.16666665000000166, abs=1e-12, rel=0)
    expected_ji = [0.13888887731481578, 0.1515151377410481, 0.1515151377410481,
                   0.16666665000000166, 0.16666665000000166, 0.14814813168724464,
                   0.16666664814815021, 0.1428571224489825, 0.08333331944444676,
                   0.08333331944444676]
    np.testing.assert_allclose(result["JI_per_threshold"], expected_ji, rtol=0, atol=1e-12)
    assert result["JI_threshold"] == 0.30000000000000004
    counts = {k: result[k] for k in ("num_images", "num_persons", "num_ignore_regions",
                                     "num_detections", "num_tp", "num_fp", "num_dropped")}
    assert counts == dict(num_images=3, num_persons=9, num_ignore_regions=4, num_detections=17,
                          num_tp=5, num_fp=8, num_dropped=4)


def test_ignore_regions_drop_detections_for_ap_and_for_ji():
    # Persons P1 = [0,0,20,40], P2 = [100,0,120,40]; ignore region R = [150,50,190,90].
    # a (0.9) = P1 -> TP; b (0.8) inside R -> dropped; c (0.7) elsewhere -> FP; d (0.6) = P2 -> TP;
    # e (0.55) half inside R: IoA = 200 / (400 + 1e-6) is not > 0.5 -> FP.
    gt = [gt_record("a", persons=[(0, 0, 20, 40), (100, 0, 20, 40)], ignores=[(150, 50, 40, 40)])]
    dt = [dt_record("a", [(0, 0, 20, 40, 0.9), (152, 52, 20, 20, 0.8), (50, 50, 20, 20, 0.7),
                          (100, 0, 20, 40, 0.6), (140, 50, 20, 20, 0.55)])]
    result = evaluate(gt, dt)
    assert (result["num_tp"], result["num_fp"], result["num_dropped"]) == (2, 2, 1)
    # Scored list TP, FP, TP, FP: recall .5 .5 1 1, precision 1 .5 2/3 .5
    # AP = 0 + .5 * (.5 + 2/3) / 2 + 0 = 7/24.
    assert result["AP"] == pytest.approx(7 / 24, abs=1e-15)
    assert result["Recall"] == 1.0
    # One image: FPPI 0, 1, 1, 2; miss .5, .5, 0, 0 -> every reference FPPI (<= 1) lands on index 1.
    assert result["mMR"] == pytest.approx(0.5, abs=1e-15)
    # JI, ratio k / (m + n - k + 1e-6) with m = 2 persons:
    # thr 0 and 0.5 keep a..e: k = 2, n = 5 - 1 (b, unmatched, in R) = 4 -> 2 / (4 + 1e-6);
    # thr 0.6000000000000001 keeps a, b, c: k = 1, n = 2 -> 1 / (3 + 1e-6); 0.7000000000000001
    # keeps a, b: k = 1, n = 1 -> 1 / (2 + 1e-6); 0.9 keeps nothing: 0 (the image still counts).
    ji = result["JI_per_threshold"]
    assert ji[0] == ji[5] == 2 / (4 + 1e-6)
    assert ji[6] == 1 / (3 + 1e-6)
    assert ji[7] == 1 / (2 + 1e-6)
    assert ji[9] == 0.0
    assert result["JI"] == 2 / (4 + 1e-6) and result["JI_threshold"] == 0.0


def test_person_with_extra_ignore_is_an_ignore_region_and_other_tags_too():
    # extra.ignore=1 on a 'person' and an unknown tag both become ignore regions.
    record = gt_record("a", persons=[(0, 0, 20, 40)], extra_ignored=[(100, 0, 20, 40)])
    record["gtboxes"].append({"tag": "statue", "fbox": [50, 50, 20, 20]})
    dt = [dt_record("a", [(0, 0, 20, 40, 0.9), (100, 0, 20, 40, 0.8), (50, 50, 20, 20, 0.7)])]
    result = evaluate([record], dt)
    assert result["num_persons"] == 1 and result["num_ignore_regions"] == 2
    assert (result["num_tp"], result["num_fp"], result["num_dropped"]) == (1, 0, 2)
    assert result["AP"] == 0.0  # a single point: no trapezoid
    assert result["Recall"] == 1.0


def test_clipping_of_gt_and_detections_uses_the_gt_image_size():
    # W = 100: person [-20, 0, 20, 50] is clipped to [0, 0, 20, 50]; the detection [0, 0, 20, 50]
    # has IoU 1000 / 2000 = 0.5 with the unclipped box (not > 0.5) but 1 with the clipped one.
    # The detection [120, 10, 130, 20] lies outside; clipped to the strip [99, 10, 100, 20] it falls
    # inside the ignore region [90, 0, 100, 30] and is dropped. The detection record claims a
    # 1000 x 1000 image: the gt record's size wins.
    np.testing.assert_array_equal(
        clip_boxes(np.array([[-20.0, 0, 20, 50], [120, 10, 130, 20]]), 100, 100),
        [[0, 0, 20, 50], [99, 10, 100, 20]])
    gt = [gt_record("a", persons=[(-20, 0, 40, 50)], ignores=[(90, 0, 10, 30)],
                    height=100, width=100)]
    dt = [dt_record("a", [(0, 0, 20, 50, 0.9), (120, 10, 10, 10, 0.8)], height=1000, width=1000)]
    result = evaluate(gt, dt)
    assert (result["num_tp"], result["num_fp"], result["num_dropped"]) == (1, 0, 1)
    assert result["Recall"] == 1.0 and result["mMR"] == 0.0


def test_image_size_comes_from_the_detection_record_when_the_gt_has_none():
    gt = [gt_record("a", persons=[(-20, 0, 40, 50)], height=None)]
    dt = [dt_record("a", [(0, 0, 20, 50, 0.9)], height=100, width=100)]
    assert evaluate(gt, dt)["num_tp"] == 1  # clipped with the detection record's 100 x 100
    with pytest.raises(OdgtFormatError, match=r"<gt records>:1: image 'a' has no height/width"):
        evaluate(gt, [dt_record("a", [(0, 0, 20, 50, 0.9)])])


def test_equal_scores_across_images_keep_gt_file_order():
    # X's FP and Y's TP share score 0.5; X comes first in the gt file, so the list is FP, TP:
    # recall 0, 1 and precision 0, .5 -> AP = 1 * (0 + .5) / 2 = .25. In the other file order
    # the list is TP, FP -> AP = 0.
    x = gt_record("x", persons=[(0, 0, 20, 40)])
    y = gt_record("y", persons=[(0, 0, 20, 40)])
    dt = [dt_record("y", [(0, 0, 20, 40, 0.5)]), dt_record("x", [(100, 50, 20, 40, 0.5)])]
    assert evaluate([x, y], dt)["AP"] == 0.25
    assert evaluate([y, x], dt)["AP"] == 0.0


def test_equal_scores_in_one_image_keep_file_order_and_equal_ious_take_the_first_person():
    # P1 = [0,0,10,10], P2 = [12,0,22,10] (xyxy). d1 overlaps P1 (IoU 80/120) and P2 (IoU 0.8),
    # d2 only P2 (IoU 1); both score .5. File order d1, d2: d1 takes P2 (its best), d2 finds P2
    # taken -> Recall 1/2. File order d2, d1: d2 takes P2, d1 takes P1 -> Recall 1.
    gt = [gt_record("a", persons=[(0, 0, 10, 10), (12, 0, 10, 10)])]
    d1, d2 = (2, 0, 10, 10, 0.5), (12, 0, 10, 10, 0.5)
    iou = pairwise_iou(np.array([[2.0, 0, 12, 10], [12, 0, 22, 10]]),
                       np.array([[0.0, 0, 10, 10], [12, 0, 22, 10]]))
    assert iou[0, 0] < iou[0, 1]
    assert evaluate(gt, [dt_record("a", [d1, d2])])["Recall"] == 0.5
    assert evaluate(gt, [dt_record("a", [d2, d1])])["Recall"] == 1.0
    # Equal IoUs: d = [2,0,12,10] against P1 = [0,0,10,10] and P3 = [4,0,14,10] is 80/120 for both;
    # d takes P1 (first in file), so the lower-scored d' = P1 finds nothing -> Recall 1/2.
    gt = [gt_record("b", persons=[(0, 0, 10, 10), (4, 0, 10, 10)])]
    result = evaluate(gt, [dt_record("b", [(2, 0, 10, 10, 0.9), (0, 0, 10, 10, 0.8)])])
    assert result["Recall"] == 0.5 and result["num_fp"] == 1


def test_duplicate_detections_are_false_positives():
    gt = [gt_record("a", persons=[(0, 0, 20, 40)])]
    result = evaluate(gt, [dt_record("a", [(0, 0, 20, 40, 0.9), (1, 1, 20, 40, 0.8)])])
    assert (result["num_tp"], result["num_fp"]) == (1, 1)
    assert result["AP"] == 0.0 and result["Recall"] == 1.0


def test_empty_image_and_image_without_detections_count():
    # E: no gt, one det (0.9) -> FP. F: one person, its det (0.8) -> TP. G: one person, no record.
    # List FP, TP: recall 0, .5; precision 0, .5 -> AP = .5 * (0 + .5) / 2 = .125.
    # FPPI = 1/3 for both points; miss 1, .5: the 7 references <= 0.3162 take index 0 (miss 1),
    # 0.5623 and 1.0 find none and take the last (miss .5) -> mMR = exp(2 * log(.5) / 9).
    gt = [gt_record("E"), gt_record("F", persons=[(0, 0, 20, 40)]),
          gt_record("G", persons=[(0, 0, 20, 40)])]
    dt = [dt_record("F", [(0, 0, 20, 40, 0.8)]), dt_record("E", [(50, 50, 20, 20, 0.9)])]
    result = evaluate(gt, dt)
    assert result["AP"] == 0.125
    assert result["mMR"] == pytest.approx(math.exp(2 * math.log(0.5) / 9), abs=1e-15)
    assert result["Recall"] == 0.5
    assert result["num_images_without_gt_boxes"] == 1
    assert result["num_images_without_dt_record"] == 1
    assert result["num_images_without_detections"] == 1
    # JI, thr 0: E (k0 m0 n1) 0, F 1 / (1 + 1e-6), G (m1 n0) 0; all three count -> / 3.
    # thr 0.8: F's det is gone, E still has n = 1 -> 0 / 3. thr 0.9: E has n = m = 0 -> 0 / 2.
    assert result["JI_per_threshold"][0] == (1 / (1 + 1e-6)) / 3
    assert result["JI_per_threshold"][8] == 0.0 and result["JI_per_threshold"][9] == 0.0


def test_no_detections_at_all_is_well_defined():
    gt = [gt_record("a", persons=[(0, 0, 20, 40)]), gt_record("b")]
    for dt in ([], [dt_record("a", []), dt_record("b", [])]):
        result = evaluate(gt, dt)
        assert (result["AP"], result["mMR"], result["Recall"], result["JI"]) == (0, 1, 0, 0)
    # All detections dropped in ignore regions: nothing scored either.
    gt = [gt_record("a", persons=[(0, 0, 20, 40)], ignores=[(100, 0, 50, 50)])]
    result = evaluate(gt, [dt_record("a", [(100, 0, 50, 50, 0.9)])])
    assert (result["AP"], result["mMR"], result["Recall"], result["JI"]) == (0, 1, 0, 0)


def test_gt_without_persons_and_bad_records_raise():
    with pytest.raises(OdgtFormatError, match="none of the 2 ground-truth images has a 'person'"):
        evaluate([gt_record("a", ignores=[(0, 0, 5, 5)]), gt_record("b")], [])
    with pytest.raises(OdgtFormatError, match="no ground-truth images"):
        evaluate([], [])
    gt = [gt_record("a", persons=[(0, 0, 20, 40)])]
    with pytest.raises(OdgtFormatError, match=r"<dt records>:2: image 'zz' is not in the ground"):
        evaluate(gt, [dt_record("a", []), dt_record("zz", [])])
    with pytest.raises(OdgtFormatError, match=r"<dt records>:2: duplicate ID 'a' \(first at line 1"):
        evaluate(gt, [dt_record("a", []), dt_record("a", [])])
    with pytest.raises(OdgtFormatError, match="negative width or height"):
        evaluate(gt, [dt_record("a", [(0, 0, -1, 5, 0.5)])])
    with pytest.raises(OdgtFormatError, match="NaN or infinite"):
        evaluate(gt, [dt_record("a", [(0, 0, float("nan"), 5, 0.5)])])
    with pytest.raises(OdgtFormatError, match="detection 1 has score"):
        evaluate(gt, [dt_record("a", [(0, 0, 1, 5, 0.5), (0, 0, 1, 5, float("inf"))])])
    with pytest.raises(OdgtFormatError, match="gt box 0 has no 'fbox'"):
        evaluate([{"ID": "a", "gtboxes": [{"tag": "person"}]}], [])


def test_gt_boxes_need_no_hbox_and_images_may_have_no_boxes():
    gt = load_odgt(WORKED / "gt.odgt", "gt")
    assert [g.image_id for g in gt] == ["tiny_b", "tiny_a", "tiny_c"]
    assert gt[0].persons.shape == (0, 4)
    record = {"ID": "a", "height": 50, "width": 50,
              "gtboxes": [{"tag": "person", "fbox": [1, 2, 3, 4]}]}
    assert evaluate([record], [])["num_persons"] == 1


def _reference_greedy(iou, threshold=0.5):
    """The reference's double loop, written plainly (rows in score order)."""
    taken = np.zeros(iou.shape[1], dtype=bool)
    matches = []
    for row in iou:
        best, best_col = threshold, -1
        for col, value in enumerate(row):
            if not taken[col] and value > best:
                best, best_col = value, col
        if best_col >= 0:
            taken[best_col] = True
        matches.append(best_col)
    return np.array(matches)


def _random_crowd(rng, num_dets, num_gts):
    """Boxes jittered around a few shared centres, so IoU > 0.5 pairs conflict often."""
    centres = rng.uniform(20, 40, size=(2, 2))
    def boxes(n):
        c = centres[rng.integers(0, 2, n)] + rng.normal(0, 2.5, (n, 2))
        wh = rng.uniform(8, 14, (n, 2))
        return np.column_stack([c - wh / 2, c + wh / 2])
    return boxes(num_dets), boxes(num_gts)


def test_greedy_match_equals_the_reference_loop():
    rng = np.random.default_rng(0)
    for _ in range(300):
        dets, gts = _random_crowd(rng, rng.integers(0, 9), rng.integers(0, 6))
        iou = pairwise_iou(dets, gts)
        if rng.random() < 0.3:
            iou = np.round(iou, 1)  # forces equal IoUs
        np.testing.assert_array_equal(greedy_match(iou), _reference_greedy(iou))


def _brute_force_best(iou, threshold=0.5):
    """Max total IoU over all matchings of eligible pairs, and the sizes that reach it."""
    num_dets, num_gts = iou.shape
    best_weight, sizes = 0.0, {0}
    for assignment in itertools.product(range(-1, num_gts), repeat=num_dets):
        used = [g for g in assignment if g >= 0]
        if len(used) != len(set(used)):
            continue
        pairs = [(d, g) for d, g in enumerate(assignment) if g >= 0]
        if any(iou[d, g] <= threshold for d, g in pairs):
            continue
        weight = sum(iou[d, g] for d, g in pairs)
        if weight > best_weight + 1e-12:
            best_weight, sizes = weight, {len(pairs)}
        elif abs(weight - best_weight) <= 1e-12:
            sizes.add(len(pairs))
    return best_weight, sizes


def test_ji_matching_is_a_maximum_weight_matching():
    rng = np.random.default_rng(1)
    solver_used = 0
    for _ in range(150):
        dets, gts = _random_crowd(rng, rng.integers(1, 6), rng.integers(1, 5))
        iou = pairwise_iou(dets, gts)
        rows, cols = max_weight_matching(iou)
        assert len(set(rows)) == len(rows) and len(set(cols)) == len(cols)
        assert (iou[rows, cols] > 0.5).all()
        best_weight, sizes = _brute_force_best(iou)
        assert iou[rows, cols].sum() == pytest.approx(best_weight, abs=1e-12)
        assert len(rows) in sizes
        eligible = iou > 0.5
        solver_used += bool((eligible.sum(0) > 1).any() or (eligible.sum(1) > 1).any())
    assert solver_used > 30  # the conflicting case (linear_sum_assignment) was exercised


def test_maximum_weight_is_not_maximum_cardinality():
    # A path d0-g0 (.51), d1-g0 (.99), d1-g1 (.51), d2-g1 (.99), d2-g2 (.51): the largest matching
    # {d0g0, d1g1, d2g2} weighs 1.53, the heaviest {d1g0, d2g1} 1.98, so k = 2 (a maximum-
    # cardinality matching, as mmdet's CrowdHumanMetric uses, would give k = 3).
    iou = np.array([[0.51, 0.0, 0.0], [0.99, 0.51, 0.0], [0.0, 0.99, 0.51]])
    rows, cols = max_weight_matching(iou)
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(1, 0), (2, 1)]
    assert _brute_force_best(iou) == (pytest.approx(1.98), {2})
