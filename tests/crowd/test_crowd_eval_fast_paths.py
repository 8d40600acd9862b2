"""The fast paths of the evaluator give the plain paths' results bit for bit.

* msgspec's typed decoding vs the plain json path (``odgt.msgspec = None``), on files with edge
  values; what the typed path does not take falls back to the plain path;
* ``load_gt_and_dt(workers=2)`` parses the detections in another process, same images;
* the batched geometry of all images vs the one-image definition, image by image.
"""

import json
import os

import numpy as np
import pytest

from o2f_crowd.evaluation import crowd_eval, evaluate, load_gt_and_dt, load_odgt, odgt

pytest.importorskip("msgspec")


def _edge_files(tmp_path, seed=3):
    """A gt, a dt .odgt and the dt as one JSON list, with many-digit floats, ints, extra keys,
    every ignore spelling, missing sizes, empty box lists and blank lines."""
    rng = np.random.default_rng(seed)

    def number(value):
        kind = rng.integers(0, 4)
        if kind == 0:
            return round(float(value))  # an int token
        if kind == 1:
            return f"{value:.25f}"  # more digits than float64 holds (a raw token, see below)
        return float(value) + float(rng.uniform(0, 1e-9))  # 17 significant digits

    def box(x, y, w, h):
        return "[" + ", ".join(str(number(v)) for v in (x, y, w, h)) + "]"

    gt_lines, dt_lines, dt_records = [], [], []
    extras = ['{"ignore": 1}', '{"ignore": 0}', '{"ignore": null}', '{"box_id": 4}', "null",
              '{"ignore": 1, "occ": [1, {"a": 2}]}']
    for index in range(40):
        image_id = f"img{index}"
        size = "" if index % 7 == 3 else (
            '"height": 300, "width": 400, ' if index % 2 else '"height": 300.5, "width": 400.25, ')
        boxes = []
        for _ in range(int(rng.integers(0, 9))):
            x, y = rng.uniform(-20, 380, 2)
            w, h = rng.uniform(0, 60), rng.uniform(0, 150)
            tag = ["person", "person", "person", "mask", "other"][int(rng.integers(0, 5))]
            extra = extras[int(rng.integers(0, len(extras)))]
            boxes.append(f'{{"tag": "{tag}", "fbox": {box(x, y, w, h)}, "vbox": [1, 2, 3, 4], '
                         f'"hbox": [1.5, 2, 3, 4], "head_attr": {{"ignore": 0}}, '
                         f'"extra": {extra}}}')
        gt_lines.append(f'{{"ID": "{image_id}", {size}"gtboxes": [{", ".join(boxes)}], '
                        f'"unused": {{"deep": [[1], [2.5e-3]]}}}}')
        if index % 5 == 4:
            gt_lines.append("   ")  # blank lines count in the line numbers
        if index % 9 == 8:
            continue  # no detection record
        dets = []
        for _ in range(int(rng.integers(0, 25))):
            x, y = rng.uniform(-20, 380, 2)
            score = [number(rng.uniform(0, 1)), 1, 0, 0.5][int(rng.integers(0, 4))]
            dets.append(f'{{"box": {box(x, y, rng.uniform(0, 60), rng.uniform(0, 150))}, '
                        f'"score": {score}, "tag": 1, "extra_key": "x"}}')
        dt_size = '"height": 300, "width": 400, ' if index % 7 == 3 else ""
        line = f'{{"ID": "{image_id}", {dt_size}"dtboxes": [{", ".join(dets)}]}}'
        dt_lines.append(line)
        dt_records.append(line)
    paths = {name: tmp_path / name for name in ("gt.odgt", "dt.odgt", "dt.json")}
    paths["gt.odgt"].write_text("\n".join(gt_lines) + "\n")
    paths["dt.odgt"].write_text("\n\n".join(dt_lines) + "\n")
    paths["dt.json"].write_text("\n [" + ",\n".join(dt_records) + "]\n")
    return paths


def _same_images(first, second):
    assert len(first) == len(second) > 0
    for a, b in zip(first, second, strict=True):
        assert (a.image_id, a.height, a.width, a.line, a.source) == \
            (b.image_id, b.height, b.width, b.line, b.source)
        assert (type(a.height), type(a.width)) == (type(b.height), type(b.width))
        arrays = ("persons", "ignores") if hasattr(a, "persons") else ("boxes", "scores")
        for name in arrays:
            x, y = getattr(a, name), getattr(b, name)
            assert x.shape == y.shape and x.dtype == y.dtype == np.float64
            assert x.tobytes() == y.tobytes()  # every bit, -0.0 included


def test_typed_and_plain_paths_give_identical_images_and_metrics(tmp_path, monkeypatch):
    paths = _edge_files(tmp_path)
    cases = [(paths["gt.odgt"], "gt", False), (paths["dt.odgt"], "dt", False),
             (paths["dt.json"], "dt", True)]
    for path, kind, list_file in cases:  # the typed path takes all three files
        assert odgt._load_typed(str(path), kind, list_file) is not None
    typed = [load_odgt(path, kind) for path, kind, _ in cases]
    monkeypatch.setattr(odgt, "msgspec", None)
    plain = [load_odgt(path, kind) for path, kind, _ in cases]
    for a, b in zip(typed, plain, strict=True):
        _same_images(a, b)
    # The files exercise what they should: persons and ignore regions, images without size.
    assert sum(len(image.ignores) for image in plain[0]) > 10
    assert sum(len(image.persons) for image in plain[0]) > 30
    assert sum(image.height is None for image in plain[0]) > 3
    metrics = [json.dumps(evaluate(typed[0], typed[i])) for i in (1, 2)]
    assert metrics == [json.dumps(evaluate(plain[0], plain[i])) for i in (1, 2)]


@pytest.mark.parametrize("line,reason", [
    ('{"ID": "a\\ud800", "gtboxes": [{"tag": "person", "fbox": [0, 0, 2, 3]}]}',
     "a lone surrogate in a string (json takes it)"),
    ('{"ID": "a", "gtboxes": [{"tag": "person", "fbox": [0, 0, 2, 3], "extra": {"ignore": true}}]}',
     "a boolean ignore flag"),
    ('{"ID": "a", "gtboxes": [{"tag": "person", "fbox": [0, 0, 2, 3], "extra": [1]}]}',
     "extra that is not an object"),
    ('{"ID": "a", "gtboxes": [{"tag": "person", "fbox": [0, 0, 2, 3], "extra": {"ignore": "0"}}]}',
     "a string ignore flag (truthy)"),
])
def test_what_the_typed_path_refuses_is_read_by_the_plain_path(tmp_path, monkeypatch, line,
                                                                reason):
    path = tmp_path / "gt.odgt"
    path.write_text(line + "\n")
    assert odgt._load_typed(str(path), "gt") is None, reason
    (image,) = load_odgt(path, "gt")
    monkeypatch.setattr(odgt, "msgspec", None)
    _same_images([image], load_odgt(path, "gt"))
    assert len(image.persons) + len(image.ignores) == 1


def test_two_workers_parse_the_detections_in_another_process(tmp_path, monkeypatch):
    paths = _edge_files(tmp_path)
    real = odgt.load_odgt

    def recording(path, kind):  # inherited by the forked child
        (tmp_path / f"{kind}.pid").write_text(str(os.getpid()))
        return real(path, kind)

    expected = (real(paths["gt.odgt"], "gt"), real(paths["dt.odgt"], "dt"))
    monkeypatch.setattr(odgt, "load_odgt", recording)
    for workers in (1, 2):
        gt, dt = load_gt_and_dt(paths["gt.odgt"], paths["dt.odgt"], workers=workers)
        _same_images(gt, expected[0])
        _same_images(dt, expected[1])
        pid = int((tmp_path / "dt.pid").read_text())
        assert (pid != os.getpid()) == (workers == 2)
        (tmp_path / "dt.pid").unlink()
    with pytest.raises(ValueError, match="workers must be 1 or 2"):
        load_gt_and_dt(paths["gt.odgt"], paths["dt.odgt"], workers=0)


def test_two_workers_report_the_gt_error_first(tmp_path):
    gt, dt = tmp_path / "gt.odgt", tmp_path / "dt.odgt"
    gt.write_text('{"ID": "a", "gtboxes": [{"tag": "person"}]}\n')
    dt.write_text('{"ID": "a", "dtboxes": [{"box": [0, 0, 1, 1]}]}\n')
    for workers in (1, 2):
        with pytest.raises(odgt.OdgtFormatError, match=r"gt.odgt:1: image 'a': gt box 0 has no"):
            load_gt_and_dt(gt, dt, workers=workers)
    gt.write_text('{"ID": "a", "gtboxes": []}\n')
    with pytest.raises(odgt.OdgtFormatError, match=r"dt.odgt:1: image 'a': detection 0 has no"):
        load_gt_and_dt(gt, dt, workers=2)  # the child's error, re-raised here


def _random_images(rng, num_images):
    gt_images, dt_images = [], []
    for index in range(num_images):
        sized = index % 6 != 5
        height, width = (int(rng.integers(50, 90)), float(rng.uniform(50, 90))) if sized \
            else (None, None)

        def boxes(count, scale):
            xy = rng.uniform(-10, 80, (count, 2))
            wh = rng.uniform(0, scale, (count, 2))
            return np.round(np.column_stack([xy, xy + wh]), 1)

        persons = boxes(int(rng.integers(0, 12)), 30)
        ignores = boxes(int(rng.integers(0, 3)), 40)
        gt_images.append(crowd_eval.GtImage(f"i{index}", height, width, persons, ignores))
        if not sized:
            continue  # an image without size has no detection record
        near = persons[rng.integers(0, max(len(persons), 1), int(rng.integers(0, 30)))] \
            if len(persons) else np.zeros((0, 4))
        dets = np.concatenate([near + rng.normal(0, 2, near.shape), boxes(5, 30)])
        dets[:, 2:] = np.maximum(dets[:, 2:], dets[:, :2])
        scores = np.round(rng.uniform(0, 1, len(dets)), 1)  # many ties
        dt_images.append(crowd_eval.DtImage(f"i{index}", None, None, dets, scores))
    return gt_images, dt_images


@pytest.mark.parametrize("chunk_elements", [None, 7, 300])
def test_batched_geometry_equals_the_image_by_image_definition(monkeypatch, chunk_elements):
    if chunk_elements is not None:  # 7: images split by rows; 300: a few images per batch
        monkeypatch.setattr(crowd_eval, "PAIR_CHUNK_ELEMENTS", chunk_elements)
    gt_images, dt_images = _random_images(np.random.default_rng(5), 60)
    dt_by_id = {dt.image_id: dt for dt in dt_images}
    (scores, dets_per_image, pair_det, pair_person, pair_iou, det_in_ignore,
     person_in_ignore) = crowd_eval._dataset_geometry(gt_images, dt_by_id)
    per_image = [crowd_eval._image_geometry(gt, dt_by_id.get(gt.image_id)) for gt in gt_images]
    det_offset = np.r_[0, np.cumsum([len(g[0]) for g in per_image])]
    person_offset = np.r_[0, np.cumsum([len(gt.persons) for gt in gt_images])]
    assert dets_per_image.tolist() == [len(g[0]) for g in per_image]
    assert scores.tobytes() == np.concatenate([g[0] for g in per_image]).tobytes()
    assert pair_det.tolist() == np.concatenate(
        [g[1] + det_offset[i] for i, g in enumerate(per_image)]).tolist()
    assert pair_person.tolist() == np.concatenate(
        [g[2] + person_offset[i] for i, g in enumerate(per_image)]).tolist()
    assert pair_iou.tobytes() == np.concatenate([g[3] for g in per_image]).tobytes()
    assert det_in_ignore.tolist() == np.concatenate([g[4] for g in per_image]).tolist()
    assert person_in_ignore.tolist() == np.concatenate([g[5] for g in per_image]).tolist()
    assert pair_det.size > 50 and det_in_ignore.any() and person_in_ignore.any()


def test_match_each_equals_matching_every_threshold_from_scratch():
    from o2f_crowd.evaluation.matching import EligiblePairs, MaxWeightMatcher

    # Images of 1 to 8 persons, each person with up to 6 detections: stars, components of 2 to
    # 4 persons (enumerated) and larger ones (linear_sum_assignment) all occur.
    rng = np.random.default_rng(9)
    det, person, num_dets, num_persons = [], [], 0, 0
    for _ in range(300):
        persons_here = int(rng.integers(1, 9))
        dets_here = int(rng.integers(1, 6 * persons_here))
        for d in range(dets_here):
            for p in rng.choice(persons_here, min(persons_here, int(rng.integers(1, 3))),
                                replace=False):
                det.append(num_dets + d)
                person.append(num_persons + p)
        num_dets, num_persons = num_dets + dets_here, num_persons + persons_here
    det, person = np.array(det), np.array(person)
    order = np.lexsort((person, det))
    iou = np.round(rng.uniform(0.5, 1, det.size), 2)  # ties
    iou[iou == 0.5] = 0.51
    pairs = EligiblePairs(det[order], person[order], iou, num_dets, num_persons)
    assert pairs.persons_per_component.max() > 4 and (pairs.persons_per_component == 3).any()
    scores = np.round(rng.uniform(0, 1, num_dets), 2)
    masks = [scores > threshold for threshold in (0.0, 0.1, 0.2, 0.35, 0.5, 0.8, 0.2, 0.95)]
    matcher = MaxWeightMatcher(pairs)
    for mask, (found_det, found_person) in zip(masks, matcher.match_each(masks), strict=True):
        expected_det, expected_person = MaxWeightMatcher(pairs).match(mask)
        assert sorted(zip(found_det.tolist(), found_person.tolist(), strict=True)) == \
            sorted(zip(expected_det.tolist(), expected_person.tolist(), strict=True))
        assert mask[found_det].all() and len(found_det) > 0
