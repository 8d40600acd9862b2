"""O2FDualNMSValLoop on CrowdHuman: both settings logged, each from its own detection file."""

import json
from pathlib import Path

import pytest

pytest.importorskip("mmdet")

from o2f_crowd.evaluation import evaluate, load_odgt  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CROWD_CONFIG = REPO / "configs" / "crowd" / "o2f_r50_crowdhuman.py"


@pytest.fixture(scope="module")
def crowd_data(tmp_path_factory):
    from o2f_core.synthetic import write_synthetic_dataset

    root = tmp_path_factory.mktemp("crowd_dual") / "data"
    return write_synthetic_dataset(root, num_train=2, num_val=3, image_size=(64, 64), seed=3,
                                   num_classes=1, max_objects=6, ignore_size=10.0)


def test_crowd_metrics_without_and_with_nms_come_from_two_files(crowd_data, tmp_path):
    import importlib.util

    # the tiny crowd model of the crowd tests
    spec = importlib.util.spec_from_file_location("crowd_tests",
                                                  Path(__file__).with_name("test_crowd_mmdet.py"))
    crowd_tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(crowd_tests)
    from o2f_crowd.train import main as train_main

    config = tmp_path / "tiny_crowd.py"
    tiny = crowd_tests.TINY_CONFIG.format(base=str(CROWD_CONFIG), root=crowd_data["root"] + "/",
                                          keep=False)
    config.write_text(tiny
                      + "\ntrain_cfg = dict(max_epochs=1, val_interval=1)\n"
                      + "val_cfg = dict(type='O2FDualNMSValLoop')\n")
    work_dir = tmp_path / "work"
    assert train_main([str(config), "--work-dir", str(work_dir)]) == 0
    scalars = [json.loads(line) for line in sorted(work_dir.glob("*/vis_data/scalars.json"))[0]
               .read_text().splitlines()]
    logged = [s for s in scalars if "crowd_human/mAP" in s][-1]
    gt = load_odgt(crowd_data["crowd_val"], "gt")
    # The metric writes mmdet's result list (.json); the NMS copy gets its own file.
    for prefix, name in (("", "crowdhuman_dt_epoch_1.json"),
                         ("nms/", "crowd_human_dt_nms_epoch_1.json")):
        written = sorted(work_dir.glob(f"*/{name}"))
        assert len(written) == 1, name
        from_file = evaluate(gt, load_odgt(written[0], "dt"))
        # mmdet's names, rounded to 4 decimals as mmdet's CrowdHumanMetric does.
        for logged_name, metric in (("mAP", "AP"), ("mMR", "mMR"), ("Recall", "Recall"),
                                    ("JI", "JI")):
            assert logged[f"{prefix}crowd_human/{logged_name}"] == pytest.approx(
                from_file[metric], abs=5e-5)
