"""The crowd demo (``tools/demo.py --crowd``): configs, the NMS sweep, the metrics, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mmdet")

from mmengine.config import Config  # noqa: E402

from o2f_crowd.evaluation import evaluate, load_odgt  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "tools" / "demo.py")


def _env() -> dict:
    env = dict(os.environ)
    env.update(CUDA_VISIBLE_DEVICES="", PYTHONWARNINGS="ignore")
    return env


@pytest.mark.parametrize("name", ["fcos", "o2f", "poto"])
def test_demo_configs_follow_the_crowdhuman_recipe_at_cpu_scale(name):
    cfg = Config.fromfile(str(REPO / "configs" / "crowd" / f"{name}_crowd_demo_cpu.py"))
    recipe = Config.fromfile(str(REPO / "configs" / "crowd" / "o2f_r50_crowdhuman.py"))
    assert cfg.o2f_task == "crowd" and cfg.model.bbox_head.num_classes == 1
    assert cfg.model.test_cfg.nms_pre == 5000 and cfg.model.test_cfg.max_per_img == 500
    assert cfg.optim_wrapper.optimizer.type == recipe.optim_wrapper.optimizer.type == "AdamW"
    assert cfg.optim_wrapper.optimizer.weight_decay == recipe.optim_wrapper.optimizer.weight_decay
    assert cfg.optim_wrapper.get("clip_grad") is None  # the recipe does not clip
    assert cfg.train_dataloader.dataset.type == "O2FCrowdHumanDataset"
    assert cfg.test_evaluator[0].type == "O2FCrowdHumanMetric"
    if name == "o2f":  # 1 certain + 3 ambiguous, as the recipe
        assert cfg.model.train_cfg.assigner.num_ambiguous == \
            recipe.model.train_cfg.assigner.num_ambiguous == 3
    assert cfg.model.test_cfg.with_nms is (name == "fcos")


def _tiny_fcos_and_batch():
    """The FCOS crowd demo model (random init, every score kept) and one 64x96 image."""
    import torch
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.utils import register_all_modules

    import o2f_det  # noqa: F401

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(str(REPO / "configs" / "crowd" / "fcos_crowd_demo_cpu.py"))
    cfg.model.test_cfg.score_thr = 0.0  # random init scores ~0.01: keep them all
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    # Boxes about 4 strides wide (distances ~2 strides): neighbours overlap at IoU ~0.6, so the
    # NMS threshold matters (random init would give near-empty boxes).
    with torch.no_grad():
        model.bbox_head.conv_reg.bias.fill_(2.0)
        model.bbox_head.conv_reg.weight.mul_(0.1)
    image = torch.randint(0, 255, (3, 64, 96), generator=torch.Generator().manual_seed(1))
    sample = DetDataSample(metainfo=dict(img_shape=(64, 96), ori_shape=(64, 96),
                                         scale_factor=(1.0, 1.0), pad_shape=(64, 96)))
    batch = model.data_preprocessor(dict(inputs=[image.float()], data_samples=[sample]), False)
    return model, batch


def test_nms_from_raw_outputs_equals_the_heads_own_nms():
    import torch

    from o2f_core.eval_runner import switch_nms
    from o2f_det.crowd_demo import RAW_MAX_PER_IMG, nms_per_threshold

    model, batch = _tiny_fcos_and_batch()
    head = model.bbox_head
    with torch.no_grad():
        switch_nms(model, False)
        head.test_cfg["max_per_img"] = RAW_MAX_PER_IMG
        raw = model.predict(batch["inputs"], batch["data_samples"])[0].pred_instances
        raw = dict(bboxes=raw.bboxes.numpy(), scores=raw.scores.numpy(),
                   labels=raw.labels.numpy())
        assert len(raw["scores"]) == 8 * 12 + 4 * 6 + 2 * 3 + 1 * 2  # every point, strides 8-64
        switch_nms(model, True)
        sizes = set()
        for threshold, cap in ((0.3, 500), (0.6, 500), (0.8, 7)):
            head.test_cfg["max_per_img"] = cap
            head.test_cfg["nms"] = dict(type="nms", iou_threshold=threshold)
            own = model.predict(batch["inputs"], batch["data_samples"])[0].pred_instances
            ours = nms_per_threshold([raw], dict(type="nms"), threshold, cap)[0]
            np.testing.assert_array_equal(ours["bboxes"], own.bboxes.numpy())
            np.testing.assert_array_equal(ours["scores"], own.scores.numpy())
            sizes.add(len(ours["scores"]))
    assert len(sizes) == 3 and 7 in sizes  # the thresholds and the cap changed the result


def test_metrics_and_duplicate_rate_of_hand_made_detections(tmp_path):
    from o2f_det.crowd_demo import evaluate_setting, load_gt_persons

    gt = [{"ID": "a", "height": 60, "width": 80, "gtboxes": [
        {"tag": "person", "fbox": [0, 0, 20, 50], "extra": {}},
        {"tag": "person", "fbox": [10, 0, 20, 50], "extra": {}},  # IoU 1/3 with the first
        {"tag": "person", "fbox": [50, 0, 20, 50], "extra": {"ignore": 1}},
        {"tag": "mask", "fbox": [50, 0, 30, 60], "extra": {}}]}]
    gt_path = tmp_path / "gt.odgt"
    gt_path.write_text("".join(json.dumps(r) + "\n" for r in gt))
    persons = load_gt_persons(str(gt_path))
    np.testing.assert_array_equal(persons["a"], [[0, 0, 20, 50], [10, 0, 30, 50]])
    # Each person once (0.9, 0.8), each again slightly shifted (0.5, 0.4: duplicates), one box
    # on the ignored person (neither a hit nor counted by the duplicate rate: no gt there).
    boxes = np.array([[0, 0, 20, 50], [10, 0, 30, 50], [1, 0, 21, 50], [11, 0, 31, 50],
                      [50, 0, 70, 50]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.5, 0.4, 0.7], dtype=np.float32)
    pred = dict(img_id="a", ori_shape=(60, 80), bboxes=boxes, scores=scores,
                labels=np.zeros(5, int))
    values = evaluate_setting([pred], str(gt_path), persons, str(tmp_path / "dt"))
    assert values["dup_rate"] == pytest.approx(2 / 5)  # 2 duplicates among 5 boxes >= 0.3
    assert values["Recall"] == 1.0
    # The written file holds the same detections and evaluates to the same numbers.
    again = evaluate(load_odgt(str(gt_path), "gt"), load_odgt(str(tmp_path / "dt.json"), "dt"))
    assert {k: round(again[k], 4) for k in ("AP", "mMR", "Recall", "JI")} == {
        k: values[k] for k in ("AP", "mMR", "Recall", "JI")}
    # The box on the ignored person is dropped; ranked: hit, hit, FP, FP -> (recall, precision)
    # points (0.5, 1), (1, 1), (1, 2/3), (1, 1/2); the reference trapezoids start at the first
    # point: AP = 0.5 * 1 + 0 + 0.
    assert values["AP"] == 0.5


def test_summary_is_mean_and_sample_std_over_seeds():
    from o2f_det.crowd_demo import format_table, summarize

    summary = summarize({"o2f w/o NMS": {"AP": [0.5, 0.7], "mMR": [0.4, 0.4], "Recall": [1, 1],
                                          "JI": [0.2, 0.6], "dup_rate": [0.0, 0.1]}})
    ap = summary["o2f w/o NMS"]["AP"]
    assert ap["per_seed"] == [0.5, 0.7] and ap["mean"] == pytest.approx(0.6)
    assert ap["std"] == pytest.approx(0.1 * 2 ** 0.5)  # sqrt(((0.1)^2 + (0.1)^2) / (2 - 1))
    assert "| o2f w/o NMS | 60.0 ± 14.1 | 40.0 ± 0.0 | 100.0 ± 0.0 | 40.0 ± 28.3 |" in \
        format_table(summary)


def test_seeds_knob_trains_every_detector_once_per_seed(tmp_path, monkeypatch):
    import o2f_det.crowd_demo as demo

    calls = []

    def fake_train(name, config, data_dir, work_dir, args, seed, threads):
        calls.append((Path(config).name, seed))
        os.makedirs(work_dir, exist_ok=True)
        Path(work_dir, "last_checkpoint").write_text(f"{work_dir}/epoch_1.pth")

    monkeypatch.setattr(demo, "train_one", fake_train)
    for seeds in (1, 3):
        calls.clear()
        args = demo.parse_args(["--quick", "--jobs", "1", "--seeds", str(seeds),
                                "--work-dir", str(tmp_path / f"w{seeds}")])
        checkpoints = demo.train_all(str(tmp_path / "data"), args)
        assert sorted(checkpoints) == sorted((name, s) for name in ("FCOS", "o2f", "POTO")
                                             for s in range(seeds))
        assert sorted(calls) == sorted((f"{n}_crowd_demo_cpu.py", s)
                                       for n in ("fcos", "o2f", "poto") for s in range(seeds))
        assert checkpoints[("o2f", seeds - 1)] == \
            f"{tmp_path}/w{seeds}/o2f/seed_{seeds - 1}/epoch_1.pth"
    assert demo.parse_args([]).seeds == 3 and demo.parse_args(["--quick"]).seeds == 1


def test_bad_arguments_are_one_line_exit_2(tmp_path, capsys):
    from o2f_det.crowd_demo import main

    for bad in (["--seeds", "0"], ["--height", "32"]):
        assert main([*bad, "--work-dir", str(tmp_path / "x")]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
    foreign = tmp_path / "w" / "data"
    foreign.mkdir(parents=True)
    (foreign / "mine.txt").write_text("keep")
    assert main(["--quick", "--work-dir", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert "did not write" in err and len(err.strip().splitlines()) == 1, err
    assert (foreign / "mine.txt").read_text() == "keep"
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["data"]


@pytest.mark.slow
def test_quick_crowd_demo_end_to_end(tmp_path):
    from PIL import Image

    from o2f_det.crowd_demo import NMS_THRESHOLDS, duplicate_rate, load_gt_persons

    work_dir = tmp_path / "demo"
    run = subprocess.run([sys.executable, DEMO, "--crowd", "--quick", "--jobs", "1",
                          "--work-dir", str(work_dir)], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=1500)  # a hang guard only
    assert run.returncode == 0, run.stderr[-3000:]
    table = (work_dir / "crowd_results.md").read_text().splitlines()
    assert table[0] == "| detector | AP | mMR ↓ | Recall | JI | dup@0.3 ↓ |"
    rows = [line.split(" | ")[0][2:] for line in table[2:]]
    assert rows == [*(f"FCOS NMS@{t}" for t in NMS_THRESHOLDS), "FCOS w/o NMS", "o2f w/o NMS",
                    "POTO w/o NMS"]
    results = json.loads((work_dir / "crowd_results.json").read_text())
    assert results["settings"]["seeds"] == [0] and results["settings"]["epochs"] == 1
    assert list(results["rows"]) == rows
    gt_path = work_dir / "data" / "annotations" / "crowd_val.odgt"
    gt = load_odgt(str(gt_path), "gt")
    persons = load_gt_persons(str(gt_path))
    files = {row: work_dir / row.split()[0].lower() / "seed_0" / (
        "dt_no_nms.json" if row.endswith("w/o NMS") else f"dt_nms_{row.split('@')[1]}.json")
        for row in rows}
    for row, path in files.items():
        # The table's numbers are those of the written detections, re-evaluated here.
        dt = load_odgt(str(path), "dt")
        again = evaluate(gt, dt)
        entry = results["rows"][row]
        for key in ("AP", "mMR", "Recall", "JI"):
            assert entry[key]["per_seed"] == [round(again[key], 4)], (row, key)
            assert entry[key]["mean"] == entry[key]["per_seed"][0] and entry[key]["std"] == 0
        records = json.loads(path.read_text())
        assert entry["dup_rate"]["per_seed"] == [round(duplicate_rate(records, persons), 4)]
        assert all(len(r["dtboxes"]) <= 500 for r in records)
    # NMS only removes boxes: fewer boxes at a lower threshold.
    counts = [sum(len(r["dtboxes"]) for r in json.loads(files[f"FCOS NMS@{t}"].read_text()))
              for t in NMS_THRESHOLDS]
    assert counts == sorted(counts)
    assert Image.open(work_dir / "crowd_dilemma.png").size[0] > 500
    scene = Image.open(work_dir / "crowd_scene.png")
    assert scene.size == (5 * 96 * 3 + 4 * 4, 64 * 3 + 16)  # GT + 4 detector tiles
    assert not [p for p in work_dir.rglob(".*") if ".o2f-" in p.name]
