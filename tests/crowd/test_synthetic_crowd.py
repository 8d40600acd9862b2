"""The crowd-scene generator: deterministic, neighbour IoU in range, occlusion, ignore regions."""

import json
from pathlib import Path

import numpy as np
import pytest

from o2f_crowd.evaluation import evaluate, load_odgt
from o2f_crowd.synthetic_crowd import _iou_xywh, crowd_scene, overlap_statistics


def test_scenes_are_deterministic_and_neighbours_overlap_as_asked():
    first = crowd_scene(np.random.default_rng([3, 0, 1]))
    again = crowd_scene(np.random.default_rng([3, 0, 1]))
    other = crowd_scene(np.random.default_rng([4, 0, 1]))
    assert first[0].tobytes() == again[0].tobytes() and first[1] == again[1]
    assert first[0].tobytes() != other[0].tobytes()
    ious = []
    for index in range(20):
        _, gtboxes, neighbour = crowd_scene(np.random.default_rng([0, 0, index]),
                                            neighbour_iou=(0.6, 0.7))
        ious += neighbour
    # Equal boxes shifted by dx = w (1 - t) / (1 + t) have IoU exactly t (up to rounding).
    assert len(ious) > 20 and min(ious) >= 0.6 - 1e-9 and max(ious) <= 0.7 + 1e-9


def test_written_dataset_has_occlusion_ignore_regions_and_evaluates(tmp_path):
    from o2f_crowd.synthetic_crowd import write_crowd_dataset

    info = write_crowd_dataset(tmp_path / "crowd", num_train=2, num_val=12, seed=1)
    records = [json.loads(line) for line in Path(info["crowd_val"]).read_text().splitlines()]
    assert len(records) == 12 and (tmp_path / "crowd" / "Images" / "val_000012.jpg").is_file()
    stats = overlap_statistics(records)
    written = dict(info["stats"]["val"])
    assert 0.5 <= written.pop("neighbour_iou_min") <= written.pop("neighbour_iou_max") <= 0.9
    assert stats == written  # meta.json's statistics are those of the written file
    assert stats["share_with_iou_above_0.5"] > 0.5  # a crowd: most persons have a close neighbour
    assert 0 < stats["share_occluded"] and stats["vbox_over_fbox_area"] < 1
    assert stats["num_mask_regions"] > 0
    for record in records:
        for box in record["gtboxes"]:
            f, v = box["fbox"], box["vbox"]
            if box["tag"] == "person" and v[2] > 0:  # vbox inside fbox (pixel grid: 1 px slack)
                assert v[0] >= np.floor(f[0]) - 1 and v[0] + v[2] <= f[0] + f[2] + 1
    # The gt persons as detections: Recall 1, and the files are valid CrowdHuman input.
    dets = [{"ID": r["ID"], "dtboxes": [
        {"box": b["fbox"], "score": 0.9, "tag": 1} for b in r["gtboxes"]
        if b["tag"] == "person" and not b["extra"]["ignore"]]} for r in records]
    result = evaluate(load_odgt(info["crowd_val"], "gt"), dets)
    assert result["Recall"] == 1.0 and result["num_fp"] == 0
    assert _iou_xywh([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(5 / 15)
    # Same seed, same bytes.
    again = write_crowd_dataset(tmp_path / "again", num_train=2, num_val=12, seed=1)
    assert Path(again["crowd_val"]).read_bytes() == Path(info["crowd_val"]).read_bytes()


def test_scene_knobs():
    def scenes(**kwargs):
        return [crowd_scene(np.random.default_rng([0, 0, i]), **kwargs)[1] for i in range(10)]

    def count(boxes, tag, ignore=None):
        return sum(b["tag"] == tag and (ignore is None or b["extra"]["ignore"] == ignore)
                   for b in boxes)

    assert all(count(g, "person") == 3 for g in scenes(max_groups=1, group_size=(3, 3)))
    assert all(count(g, "mask") == 0 for g in scenes(mask_region_prob=0.0))
    assert all(count(g, "mask") == 1 for g in scenes(mask_region_prob=1.0))
    assert sum(count(g, "person", 1) for g in scenes(ignore_visible=0.0)) == 0
    # Everything partly hidden becomes ignored at ignore_visible=1.
    assert sum(count(g, "person", 1) for g in scenes(ignore_visible=1.0)) == sum(
        b["extra"]["occ"] for g in scenes() for b in g if b["tag"] == "person")


def _person(x, w=10.0, ignore=0):
    return {"tag": "person", "fbox": [x, 0.0, w, 10.0], "vbox": [x, 0.0, w, 10.0],
            "extra": {"ignore": ignore, "occ": 0}}


def test_max_neighbour_iou_histogram_by_hand(tmp_path, capsys):
    from o2f_crowd.synthetic_crowd import main

    # A, B: shifted by 5 -> IoU 5/15; C, D: shifted by 2.5 -> IoU 7.5/12.5 = 0.6; E alone;
    # the ignored F (IoU 0.85 with E: shift 10 * 0.15 / 1.85) is not a person of its own.
    records = [{"ID": "a", "gtboxes": [_person(0), _person(5), _person(100), _person(102.5)]},
               {"ID": "b", "gtboxes": [_person(50), _person(50 + 1.5 / 1.85, ignore=1)]}]
    stats = overlap_statistics(records)
    assert stats["num_persons"] == 5 and stats["num_ignored_persons"] == 1
    assert stats["max_iou_histogram"] == {
        "[0.0, 0.3)": 0, "[0.3, 0.5)": 2, "[0.5, 0.6)": 0, "[0.6, 0.7)": 2, "[0.7, 0.8)": 0,
        "[0.8, 0.9)": 1, "[0.9, 1.0]": 0}  # E's best: the ignored F
    assert stats["share_with_iou_above_0.5"] == pytest.approx(3 / 5)
    # The CLI prints the same statistics; a file that is not odgt is one line, exit 2.
    path = tmp_path / "gt.odgt"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main([str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == {"file": str(path), **stats}
    (tmp_path / "bad.odgt").write_text("[1, 2]\n")
    for bad in ("bad.odgt", "missing.odgt"):
        assert main([str(tmp_path / bad)]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
