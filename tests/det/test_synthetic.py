"""The synthetic dataset generator: deterministic, valid COCO/CrowdHuman, the promised content."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pycocotools")
from PIL import Image  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402

from o2f_core.synthetic import (  # noqa: E402
    SHAPE_CLASSES,
    box_iou_xyxy,
    polygon_area,
    read_meta,
    write_synthetic_dataset,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SMALL = dict(num_train=12, num_val=3, image_size=(128, 160), seed=7, num_classes=3)


def _tree_digest(root: Path) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("syn") / "data", **SMALL)


def _shoelace(flat):
    # Independent of the module: the trapezoid form of the shoelace formula.
    xs, ys = np.asarray(flat[0::2]), np.asarray(flat[1::2])
    return abs(np.sum((np.roll(xs, -1) - xs) * (np.roll(ys, -1) + ys))) / 2


def test_geometry_helpers_by_hand():
    assert polygon_area(np.array([[0, 0], [2, 0], [2, 3], [0, 3]], float)) == 6.0
    # L: 3x3 square minus a 2x2 corner = 5.
    assert polygon_area(np.array([[0, 0], [0, 3], [3, 3], [3, 2], [1, 2], [1, 0]], float)) == 5.0
    iou = box_iou_xyxy(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 3, 2], [5, 5, 6, 6]]))
    np.testing.assert_allclose(iou, [[2 / 6, 0.0]])


def test_same_seed_same_bytes_and_scenes_independent_of_count(tmp_path, dataset):
    again = write_synthetic_dataset(tmp_path / "again", **SMALL)
    first, second = _tree_digest(Path(dataset["root"])), _tree_digest(Path(again["root"]))
    assert first == second
    assert len(first) == 2 * (12 + 3) + 4 + 1  # png + jpg per image, 4 annotation files, meta
    other_seed = write_synthetic_dataset(tmp_path / "other", **{**SMALL, "seed": 8})
    assert _tree_digest(Path(other_seed["root"]))["train/000001.png"] != first["train/000001.png"]
    # Scene i is a function of (seed, split, i) only: fewer images give the same first ones.
    fewer = write_synthetic_dataset(tmp_path / "fewer", **{**SMALL, "num_train": 2})
    fewer_digest = _tree_digest(Path(fewer["root"]))
    assert fewer_digest["train/000002.png"] == first["train/000002.png"]
    assert fewer_digest["val/000003.png"] == first["val/000003.png"]


def test_coco_json_loads_and_annotations_are_consistent(dataset):
    coco = COCO(dataset["instances_train"])
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == list(SHAPE_CLASSES[:3])
    assert len(coco.getImgIds()) == 12
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == dataset["stats"]["train"]["num_objects"] > 30
    assert len({a["id"] for a in anns}) == len(anns)
    for ann in anns:
        img = coco.loadImgs(ann["image_id"])[0]
        x, y, w, h = ann["bbox"]
        assert 0 <= x and 0 <= y and x + w <= img["width"] and y + h <= img["height"]
        assert w > 0 and h > 0 and ann["iscrowd"] == 0
        flat = ann["segmentation"][0]
        # The box is the polygon's tight box; the area is the polygon's area.
        assert [min(flat[0::2]), min(flat[1::2])] == pytest.approx([x, y], abs=0.011)
        assert [max(flat[0::2]), max(flat[1::2])] == pytest.approx([x + w, y + h], abs=0.011)
        assert ann["area"] == pytest.approx(_shoelace(flat), abs=1e-3)
        # pycocotools' own rasterisation agrees up to the boundary pixels.
        mask = coco.annToMask(ann)
        assert mask.shape == (img["height"], img["width"])
        assert abs(int(mask.sum()) - ann["area"]) <= (w + h) + 1
        if SHAPE_CLASSES[ann["category_id"] - 1] == "l_shape":
            # The L's box centre is off its mask (the case a centre-prior must survive).
            assert mask[int(y + h / 2), int(x + w / 2)] == 0


def test_sizes_and_crowded_groups(dataset):
    coco = COCO(dataset["instances_train"])
    longer_sides = [max(a["bbox"][2:]) for a in coco.loadAnns(coco.getAnnIds())]
    assert min(longer_sides) < 10 and max(longer_sides) > 0.4 * 128  # tiny to large
    images_with_crowd = 0
    for image_id in coco.getImgIds():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        if len(anns) < 2:
            continue
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)])
        iou = box_iou_xyxy(boxes, boxes)
        np.fill_diagonal(iou, 0)
        images_with_crowd += bool((iou > 0.3).any())
    assert images_with_crowd >= 12 // 3


def test_crowdhuman_odgt_matches_coco_and_images(dataset):
    root = Path(dataset["root"])
    coco = COCO(dataset["instances_val"])
    records = [json.loads(line) for line in Path(dataset["crowd_val"]).read_text().splitlines()]
    assert [r["ID"] for r in records] == ["val_000001", "val_000002", "val_000003"]
    for image_id, record in enumerate(records, start=1):
        png = np.asarray(Image.open(root / "val" / f"{image_id:06d}.png"), dtype=float)
        jpg = np.asarray(Image.open(root / "Images" / f"{record['ID']}.jpg"), dtype=float)
        assert png.shape == jpg.shape == (record["height"], record["width"], 3) == (128, 160, 3)
        assert np.abs(png - jpg).mean() < 6  # the same scene, up to JPEG loss on the noise
        coco_boxes = [a["bbox"] for a in coco.loadAnns(coco.getAnnIds(imgIds=image_id))]
        assert [b["fbox"] for b in record["gtboxes"]] == coco_boxes
    # Ignore regions exist across the training set and use only the two documented forms.
    train = [json.loads(line) for line in Path(dataset["crowd_train"]).read_text().splitlines()]
    boxes = [b for r in train for b in r["gtboxes"]]
    assert {b["tag"] for b in boxes} <= {"person", "mask"}
    ignored = [b for b in boxes if b["tag"] == "mask" or b["extra"]["ignore"] == 1]
    assert 0 < len(ignored) == dataset["stats"]["train"]["num_ignore"] < len(boxes) / 2
    for box in boxes:
        if box["tag"] == "mask":
            assert max(box["fbox"][2:]) < 8.0
    assert read_meta(root)["params"]["seed"] == 7


def test_bad_arguments_and_existing_output(tmp_path, dataset):
    with pytest.raises(ValueError, match="num_classes must be in 1..4"):
        write_synthetic_dataset(tmp_path / "x", **{**SMALL, "num_classes": 5})
    with pytest.raises(FileExistsError, match="overwrite"):
        write_synthetic_dataset(dataset["root"], **SMALL)
    assert not (tmp_path / "x").exists()
    assert list(tmp_path.iterdir()) == []  # no staging directory left behind


def test_cli(tmp_path):
    script = str(REPO_ROOT / "tools" / "make_synthetic.py")
    out = tmp_path / "cli"
    ok = subprocess.run(
        [
            sys.executable,
            script,
            "--out",
            str(out),
            "--num-train",
            "2",
            "--num-val",
            "1",
            "--size",
            "64",
            "96",
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert Image.open(out / "train" / "000002.png").size == (96, 64)
    for bad in (["--size", "16", "64"], ["--num-train", "abc"], ["--num-train", "1"]):
        target = out if bad[-1] == "1" else tmp_path / "bad"  # the last one: --out exists
        run = subprocess.run(
            [sys.executable, script, "--out", str(target), *bad], capture_output=True, text=True
        )
        assert run.returncode == 2
        assert len(run.stderr.strip().splitlines()) == 1 and "error" in run.stderr
        assert not (tmp_path / "bad").exists()
