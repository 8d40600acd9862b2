"""The CrowdHuman evaluator: the worked example, one hand-computed case per rule, edge cases.

Expected numbers are worked out by hand in the comments (or, for the matchings, by brute force).
These tests need only numpy and scipy.
"""

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from o2f_crowd.evaluation import (
    OdgtFormatError,
    clip_boxes,
    evaluate,
    greedy_match,
    load_odgt,
    max_weight_matching,
    pairwise_iou,
)
from o2f_crowd.evaluation.matching import (
    EligiblePairs,
    greedy_match_pairs,
    max_weight_match_pairs,
)

# tests/data/crowd_worked_example: three hand-made images (see tests/data/README.md).
WORKED = Path(__file__).resolve().parents[1] / "data" / "crowd_worked_example"


def gt_record(image_id, persons=(), ignores=(), height=100, width=200, extra_ignored=()):
    """A gt line: persons (tag person), ignores (tag mask), extra_ignored (person,
    extra.ignore=1)."""
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


def test_gt_image_without_record_and_without_size_has_no_detections():
    # Image "a": 6 persons, all detected exactly (size from the detection record); image "b":
    # 6 persons, no detection record and no size anywhere. The 6 TP give recall 1/12 .. 6/12 at
    # precision 1: AP = 5/12 (trapezoids from the first point), Recall = 1/2, no FP so the miss
    # rate is 1/2 at every FPPI point: mMR = 1/2. JI: a = 6 / (6 + 6 - 6 + 1e-6), b = 0.
    persons = [(10 + 30 * i, 5, 20, 60) for i in range(6)]
    gt = [gt_record("a", persons=persons, height=None), gt_record("b", persons=persons,
                                                                   height=None)]
    dt = [dt_record("a", [(*box, 0.9 - 0.1 * i) for i, box in enumerate(persons)],
                    height=100, width=200)]
    result = evaluate(gt, dt)
    assert result["AP"] == pytest.approx(5 / 12, abs=1e-12)
    assert round(result["AP"], 4) == 0.4167
    assert result["mMR"] == pytest.approx(0.5, abs=1e-12)
    assert result["Recall"] == 0.5
    assert result["JI"] == pytest.approx(6 / (6 + 1e-6) / 2, abs=1e-12)
    assert result["num_images_without_dt_record"] == 1
    # The unknown-ID check is unchanged.
    with pytest.raises(OdgtFormatError, match="image 'c' is not in the ground truth"):
        evaluate(gt, [*dt, dt_record("c", [], height=100, width=200)])


def test_mr_reference_selects_the_fppi_points():
    # 500 images, one with 3 persons; detections TP (0.9), FP (0.8), TP (0.7): FPPI 0, .002,
    # .002 and miss rate 2/3, 2/3, 1/3. 10^-2 .. 1: no FPPI reaches .01, so all 9 points take
    # the last one: mMR 1/3. 10^-4 .. 1: 1e-4, 3e-4, 1e-3 take the FP point (2/3), the other 6
    # the last one (1/3): mMR = (2/3)^(3/9) (1/3)^(6/9).
    from o2f_crowd.evaluation import MR_REFERENCE_FPPI_4

    gt = [gt_record("a", persons=[(0, 0, 20, 40), (50, 0, 20, 40), (100, 0, 20, 40)])]
    gt += [gt_record(f"e{i}") for i in range(499)]
    dt = [dt_record("a", [(0, 0, 20, 40, 0.9), (150, 50, 20, 40, 0.8), (50, 0, 20, 40, 0.7)])]
    assert evaluate(gt, dt)["mMR"] == pytest.approx(1 / 3, abs=1e-12)
    assert evaluate(gt, dt, mr_reference=MR_REFERENCE_FPPI_4)["mMR"] == pytest.approx(
        (2 / 3) ** (1 / 3) * (1 / 3) ** (2 / 3), abs=1e-12)


def test_equal_scores_across_images_keep_gt_file_order():
    # X's FP and Y's TP share score 0.5 (2 persons in all). X comes first in the gt file, so the
    # list is FP, TP: recall 0, .5 and precision 0, .5 -> AP = .5 * (0 + .5) / 2 = .125. In the
    # other file order the list is TP, FP: recall .5, .5 -> AP = 0.
    x = gt_record("x", persons=[(0, 0, 20, 40)])
    y = gt_record("y", persons=[(0, 0, 20, 40)])
    dt = [dt_record("y", [(0, 0, 20, 40, 0.5)]), dt_record("x", [(100, 50, 20, 40, 0.5)])]
    assert evaluate([x, y], dt)["AP"] == 0.125
    assert evaluate([y, x], dt)["AP"] == 0.0


def test_equal_scores_in_one_image_keep_file_order_and_equal_ious_take_the_first_person():
    # P1 = [0,0,10,10], P2 = [2,0,12,10] (xyxy). d1 = [1.5,0,11.5,10] has IoU 85/115 with P1 and
    # 95/105 with P2; d2 = [4,0,14,10] has 80/120 with P2 and 60/140 with P1; both score .5.
    # File order d1, d2: d1 takes P2 (its best), d2 finds P2 taken -> Recall 1/2.
    # File order d2, d1: d2 takes P2, then d1 takes P1 -> Recall 1.
    gt = [gt_record("a", persons=[(0, 0, 10, 10), (2, 0, 10, 10)])]
    d1, d2 = (1.5, 0, 10, 10, 0.5), (4, 0, 10, 10, 0.5)
    iou = pairwise_iou(np.array([[1.5, 0, 11.5, 10], [4, 0, 14, 10]]),
                       np.array([[0.0, 0, 10, 10], [2, 0, 12, 10]]))
    np.testing.assert_allclose(iou, [[85 / 115, 95 / 105], [60 / 140, 80 / 120]], rtol=1e-6)
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
    with pytest.raises(OdgtFormatError, match=r"<dt records>:2: duplicate ID 'a' \(first at"):
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


def _random_crowd(rng, num_dets, num_gts, num_centres=2):
    """Boxes jittered around a few shared centres, so IoU > 0.5 pairs conflict often."""
    centres = rng.uniform(20, 40, size=(num_centres, 2))
    def boxes(n):
        c = centres[rng.integers(0, num_centres, n)] + rng.normal(0, 2.5, (n, 2))
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


def _pairs_of(iou):
    det, person = np.nonzero(iou > 0.5)
    return EligiblePairs(det, person, iou[det, person], iou.shape[0], iou.shape[1])


def test_ji_matchings_are_maximum_weight_matchings():
    # Both the dense version and the dataset-wide one (stars, exhaustive search for 2-3 persons,
    # linear_sum_assignment above) against brute force over all matchings.
    rng = np.random.default_rng(1)
    persons_in_components = set()
    for trial in range(220):
        if trial < 200:
            dets, gts = _random_crowd(rng, rng.integers(1, 7), rng.integers(1, 6))
        else:  # one crowd: components of 5 persons (linear_sum_assignment)
            dets, gts = _random_crowd(rng, 6, 5, num_centres=1)
        iou = pairwise_iou(dets, gts)
        best_weight, sizes = _brute_force_best(iou)
        pairs = _pairs_of(iou)
        kept = np.ones(len(dets), dtype=bool)
        for rows, cols in (max_weight_matching(iou), max_weight_match_pairs(pairs, kept)):
            assert len(set(rows)) == len(rows) and len(set(cols)) == len(cols)
            assert (iou[rows, cols] > 0.5).all()
            assert iou[rows, cols].sum() == pytest.approx(best_weight, abs=1e-12)
            assert len(rows) in sizes
        complex_ = (pairs.persons_per_component > 1) & (pairs.dets_per_component > 1)
        persons_in_components.update(pairs.persons_per_component[complex_].tolist())
    assert {2, 3, 4, 5} <= persons_in_components  # every solver path was exercised


def test_greedy_match_pairs_equals_the_reference_loop_on_many_images():
    rng = np.random.default_rng(2)
    ious = []
    for _ in range(200):
        dets, gts = _random_crowd(rng, rng.integers(0, 12), rng.integers(0, 6))
        iou = pairwise_iou(dets, gts)
        ious.append(np.round(iou, 1) if rng.random() < 0.3 else iou)
    # All images at once, with global indices, against the loop image by image.
    dets_offsets = np.cumsum([0] + [m.shape[0] for m in ious])
    person_offsets = np.cumsum([0] + [m.shape[1] for m in ious])
    det, person, weight = [], [], []
    for iou, d0, p0 in zip(ious, dets_offsets, person_offsets, strict=False):
        rows, cols = np.nonzero(iou > 0.5)
        det.append(rows + d0)
        person.append(cols + p0)
        weight.append(iou[rows, cols])
    pairs = EligiblePairs(np.concatenate(det), np.concatenate(person), np.concatenate(weight),
                          dets_offsets[-1], person_offsets[-1])
    matched = greedy_match_pairs(pairs)
    expected = np.concatenate([np.where(m >= 0, m + p0, -1) for m, p0 in zip(
        (_reference_greedy(iou) for iou in ious), person_offsets, strict=False)])
    np.testing.assert_array_equal(matched, expected)


def _reference_evaluate(gt_records, dt_records):
    """The rules of crowdhuman_eval.md written plainly, image by image (no shared code paths
    beyond pairwise_iou, whose formula the hand-computed cases pin down)."""
    dts = {r["ID"]: r for r in dt_records}
    scored, ji_terms, num_persons = [], [], 0
    thresholds = [0.1 * i for i in range(10)]
    for gt in gt_records:
        height, width = gt["height"], gt["width"]

        def clip(boxes, height=height, width=width):
            boxes = np.array(boxes, dtype=np.float64).reshape(-1, 4)
            boxes[:, 2:] += boxes[:, :2]
            boxes[:, 0] = np.minimum(np.maximum(boxes[:, 0], 0), width - 1)
            boxes[:, 1] = np.minimum(np.maximum(boxes[:, 1], 0), height - 1)
            boxes[:, 2] = np.maximum(np.minimum(boxes[:, 2], width), 0)
            boxes[:, 3] = np.maximum(np.minimum(boxes[:, 3], height), 0)
            return boxes

        persons = clip([b["fbox"] for b in gt["gtboxes"] if b["tag"] == "person"])
        ignores = clip([b["fbox"] for b in gt["gtboxes"] if b["tag"] != "person"])
        num_persons += len(persons)
        dets = sorted(dts.get(gt["ID"], {"dtboxes": []})["dtboxes"], key=lambda d: -d["score"])
        boxes, scores = clip([d["box"] for d in dets]), np.array([d["score"] for d in dets])

        def in_ignore(boxes, ignores=ignores):
            result = []
            for box in boxes:
                ioas = [max(0, min(box[2], r[2]) - max(box[0], r[0]))
                        * max(0, min(box[3], r[3]) - max(box[1], r[1]))
                        / ((box[2] - box[0]) * (box[3] - box[1]) + 1e-6) for r in ignores]
                result.append(any(ioa > 0.5 for ioa in ioas))
            return np.array(result, dtype=bool)

        iou = pairwise_iou(boxes, persons)
        det_ignored, person_ignored = in_ignore(boxes), in_ignore(persons)
        for score, match, ignored in zip(scores, _reference_greedy(iou), det_ignored,
                                         strict=True):
            if match >= 0 or not ignored:
                scored.append((score, match >= 0))
        terms = []
        for thr in thresholds:
            kept = int((scores > thr).sum())
            block = np.where(iou[:kept] > 0.5, iou[:kept], 0.0)
            rows, cols = linear_sum_assignment(block, maximize=True)
            good = block[rows, cols] > 0.5
            rows, cols = rows[good], cols[good]
            k = len(rows)
            n = kept - sum(1 for d in range(kept) if d not in set(rows) and det_ignored[d])
            m = len(persons) - sum(1 for p in range(len(persons))
                                   if p not in set(cols) and person_ignored[p])
            terms.append((k / (m + n - k + 1e-6), n != 0 or m != 0))
        ji_terms.append(terms)
    scored.sort(key=lambda item: -item[0])  # stable
    tp = fp = 0
    recall, precision, fppi = [], [], []
    for _, is_tp in scored:
        tp, fp = tp + is_tp, fp + (not is_tp)
        recall.append(tp / num_persons)
        precision.append(tp / (tp + fp))
        fppi.append(fp / len(gt_records))
    ap = 0.0
    for i in range(1, len(recall)):
        ap += (recall[i] - recall[i - 1]) * ((precision[i - 1] + precision[i]) / 2)
    refs = [0.0100, 0.0178, 0.0316, 0.0562, 0.1000, 0.1778, 0.3162, 0.5623, 1.0000]
    misses = [1 - recall[next((i for i, f in enumerate(fppi) if f >= ref), len(fppi) - 1)]
              for ref in refs]
    means = []
    for t in range(10):
        counted = sum(1 for terms in ji_terms if terms[t][1])
        means.append(float(np.sum([terms[t][0] for terms in ji_terms]) / counted))
    with np.errstate(divide="ignore"):
        mmr = float(np.exp(np.log(np.array(misses)).mean()))
    return {"AP": ap, "mMR": mmr, "Recall": recall[-1], "JI_per_threshold": means}


def test_evaluate_equals_a_plain_per_image_implementation_on_random_crowds():
    rng = np.random.default_rng(3)
    gt_records, dt_records = [], []
    for index in range(60):
        height, width = int(rng.integers(40, 80)), int(rng.integers(40, 80))
        dets, persons = _random_crowd(rng, int(rng.integers(0, 25)), int(rng.integers(0, 7)))
        persons = np.round(persons * width / 50 - 5, 1)  # some boxes leave the image
        dets = np.round(np.concatenate([dets * width / 50 - 5, rng.uniform(-5, 70, (3, 4))]), 1)
        dets[:, 2:] = np.maximum(dets[:, 2:], dets[:, :2])
        ignores = np.round(rng.uniform(0, 60, (int(rng.integers(0, 3)), 2)), 1)
        boxes = [{"tag": "person", "fbox": [x1, y1, x2 - x1, y2 - y1]}
                 for x1, y1, x2, y2 in persons.tolist()]
        boxes += [{"tag": "mask", "fbox": [x, y, 20.0, 25.0]} for x, y in ignores.tolist()]
        gt_records.append({"ID": f"i{index}", "height": height, "width": width,
                           "gtboxes": boxes})
        scores = np.round(rng.uniform(0, 1, len(dets)), 1)  # ties and scores on JI thresholds
        dt_records.append({"ID": f"i{index}", "dtboxes": [
            {"box": [x1, y1, x2 - x1, y2 - y1], "score": s}
            for (x1, y1, x2, y2), s in zip(dets.tolist(), scores.tolist(), strict=True)]})
    expected = _reference_evaluate(gt_records, dt_records)
    result = evaluate(gt_records, dt_records)
    assert result["num_tp"] > 50 and result["num_dropped"] > 0
    for name in ("AP", "mMR", "Recall"):
        assert result[name] == pytest.approx(expected[name], abs=1e-12, rel=0)
    np.testing.assert_allclose(result["JI_per_threshold"], expected["JI_per_threshold"],
                               rtol=0, atol=1e-12)


def test_maximum_weight_is_not_maximum_cardinality():
    # A path d0-g0 (.51), d1-g0 (.99), d1-g1 (.51), d2-g1 (.99), d2-g2 (.51): the largest matching
    # {d0g0, d1g1, d2g2} weighs 1.53, the heaviest {d1g0, d2g1} 1.98, so k = 2 (a maximum-
    # cardinality matching, as mmdet's CrowdHumanMetric uses, would give k = 3).
    iou = np.array([[0.51, 0.0, 0.0], [0.99, 0.51, 0.0], [0.0, 0.99, 0.51]])
    rows, cols = max_weight_matching(iou)
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [(1, 0), (2, 1)]
    assert _brute_force_best(iou) == (pytest.approx(1.98), {2})


def test_eligible_pairs_equal_the_dense_iou_bit_for_bit():
    from o2f_crowd.evaluation import eligible_pairs

    rng = np.random.default_rng(4)
    for _ in range(50):
        dets, gts = _random_crowd(rng, rng.integers(0, 30), rng.integers(0, 8))
        dense = pairwise_iou(dets, gts)
        rows, cols, iou = eligible_pairs(dets, gts)
        expected_rows, expected_cols = np.nonzero(dense > 0.5)
        np.testing.assert_array_equal(rows, expected_rows)
        np.testing.assert_array_equal(cols, expected_cols)
        assert iou.tobytes() == dense[expected_rows, expected_cols].tobytes()


FAST_LINES = [
    # (detections text, whether the fast path takes it)
    ('[{"box": [1.5, -2, 30, 40.25], "score": 0.9, "tag": 1}, '
     '{"box": [0, 0, 0, 7], "score": 0.30000000000000004, "tag": 1}]', True),
    ('[{"box":[1.5,2,30,40.25],"score":0.9,"tag":1}]', True),
    ('[{"score": 0.9, "box": [1, 2, 3, 4], "tag": 1}]', False),  # other key order
    ('[{"box": [1, 2, 3, 4], "score": 1e-05, "tag": 1}]', True),  # exponent: json's grammar
    ('[{"box": [1, 2, 3, 4], "score": 0.5, "tag": 1}, '
     '{"box": [1,  2, 3, 4], "score": 0.5, "tag": 1}]', False),  # other spacing
    ('[{"box": [1, 2, 3, 4], "score": 0.5, "tag": 1, "extra": 2}]', False),
    ('[{"box": [1, 2, 3, 4], "score": 0.5}]', False),  # no tag
    ('[]', True),
]


@pytest.mark.parametrize("text,fast", FAST_LINES)
def test_fast_detection_parser_equals_json(tmp_path, text, fast):
    from o2f_crowd.evaluation.odgt import _fast_detections

    line = '{"ID": "a", "height": 50, "width": 60, "dtboxes": ' + text + '}'
    assert (_fast_detections(line.encode()) is not None) == fast
    path = tmp_path / "dt.odgt"
    path.write_text(line + "\n")
    (image,) = load_odgt(path, "dt")
    records = json.loads(line)["dtboxes"]
    expected = np.array([r["box"] for r in records], dtype=np.float64).reshape(-1, 4)
    expected[:, 2:] += expected[:, :2]
    assert image.boxes.tobytes() == expected.tobytes()
    assert image.scores.tolist() == [r["score"] for r in records]
    assert (image.image_id, image.height, image.width) == ("a", 50, 60)


@pytest.mark.parametrize("number", ["01", ".5", "1.", "+1", "1-2", "NaN", "--1", "1.2.3"])
def test_numbers_json_rejects_are_rejected(tmp_path, number):
    path = tmp_path / "dt.odgt"
    path.write_text('{"ID": "a", "dtboxes": [{"box": [1, 2, ' + number
                    + ', 4], "score": 0.5, "tag": 1}]}\n')
    with pytest.raises(OdgtFormatError, match=r"dt.odgt:1: "):
        load_odgt(path, "dt")


def test_fast_parser_refuses_a_number_split_by_a_space(tmp_path):
    from o2f_crowd.evaluation.odgt import _fast_detections

    line = '{"ID": "a", "dtboxes": [{"box": [10, 10, 3 0, 60], "score": 0.5, "tag": 1}]}'
    assert _fast_detections(line.encode()) is None  # it read [10, 10, 30, 60] before
    path = tmp_path / "dt.odgt"
    path.write_text(line + "\n")
    with pytest.raises(OdgtFormatError, match=r"dt.odgt:1: not valid JSON"):
        load_odgt(path, "dt")


def test_integers_beyond_int64_read_as_the_nearest_float64_on_both_paths(tmp_path):
    big = 2**64 + 1  # valid JSON; nearest float64 is 2**64 (json.loads gives a Python int)
    fast = f'{{"ID": "a", "dtboxes": [{{"box": [{big}, 0, 5, {big}], "score": {big}, "tag": 1}}]}}'
    slow = f'{{"ID": "a", "dtboxes": [{{"score": {big}, "box": [{big}, 0, 5, {big}]}}]}}'
    gt = f'{{"ID": "a", "gtboxes": [{{"tag": "person", "fbox": [0, {big}, 5, 5]}}]}}'
    path = tmp_path / "x.odgt"
    images = []
    for kind, line in (("dt", fast), ("dt", slow), ("gt", gt)):
        path.write_text(line + "\n")
        images.append(load_odgt(path, kind)[0])
    expected = np.array([[2.0**64, 0.0, 2.0**64, 2.0**64]])  # x2 = 2**64 + 5 rounds to 2**64
    assert images[0].boxes.tobytes() == images[1].boxes.tobytes() == expected.tobytes()
    assert images[0].scores.tolist() == images[1].scores.tolist() == [2.0**64]
    assert images[2].persons.tolist() == [[0.0, 2.0**64, 5.0, 2.0**64 + 5]]
