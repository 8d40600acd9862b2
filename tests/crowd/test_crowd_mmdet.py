"""The mmdet side of o2f-crowd: dataset, metric, configs, a tiny training run and model mode.

Uses the synthetic CrowdHuman-format scenes of ``o2f_core.synthetic`` (64 x 64 px, a few images).
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mmdet")

from mmengine.config import Config  # noqa: E402

from o2f_crowd.evaluation import evaluate, load_odgt  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CROWD_CONFIG = REPO / "configs" / "crowd" / "o2f_r50_crowdhuman.py"


@pytest.fixture(scope="module")
def crowd_data(tmp_path_factory):
    from o2f_core.synthetic import write_synthetic_dataset

    root = tmp_path_factory.mktemp("crowd") / "data"
    info = write_synthetic_dataset(root, num_train=4, num_val=3, image_size=(64, 64), seed=3,
                                   num_classes=1, max_objects=6, ignore_size=10.0)
    return info


def _records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _is_ignore(box):
    return box["tag"] != "person" or bool(box.get("extra", {}).get("ignore", 0))


@pytest.mark.parametrize("keep_ignore_regions", [False, True])
@pytest.mark.parametrize("box_type,key", [("full", "fbox"), ("visible", "vbox")])
def test_dataset_splits_persons_and_ignore_regions(crowd_data, box_type, key,
                                                    keep_ignore_regions):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import o2f_crowd.datasets  # noqa: F401  (registers O2FCrowdHumanDataset)

    register_all_modules()
    dataset = DATASETS.build(dict(
        type="O2FCrowdHumanDataset", data_root=crowd_data["root"],
        ann_file="annotations/crowd_train.odgt", data_prefix=dict(img="Images/"),
        box_type=box_type, keep_ignore_regions=keep_ignore_regions,
        pipeline=[dict(type="LoadImageFromFile"),
                                     dict(type="LoadAnnotations", with_bbox=True),
                                     dict(type="PackDetInputs")]))
    records = _records(crowd_data["crowd_train"])
    assert len(dataset) == len(records)
    total_ignored = 0
    for index, record in enumerate(records):
        sample = dataset[index]["data_samples"]
        persons = [b[key] for b in record["gtboxes"] if not _is_ignore(b)]
        ignores = [b[key] for b in record["gtboxes"] if _is_ignore(b)]
        total_ignored += len(ignores)
        expected = np.array(persons, dtype=np.float32).reshape(-1, 4)
        expected[:, 2:] += expected[:, :2]
        np.testing.assert_allclose(sample.gt_instances.bboxes.numpy(), expected, atol=1e-4)
        assert (sample.gt_instances.labels.numpy() == 0).all()
        # Ignore regions reach the sample (and so the head) only with the switch on.
        assert len(sample.ignored_instances) == (len(ignores) if keep_ignore_regions else 0)
        assert sample.metainfo["img_id"] == record["ID"]
        assert sample.metainfo["ori_shape"] == (record["height"], record["width"])
    assert total_ignored > 0  # the synthetic set has ignore regions to exercise


def _exact_predictions(records, metric):
    """Feed ``metric`` every person box of ``records`` (reversed order) with falling scores."""
    import torch
    from mmengine.structures import InstanceData

    num_persons = 0
    for record in records[::-1]:  # any order: matched by ID
        persons = np.array([b["fbox"] for b in record["gtboxes"] if not _is_ignore(b)],
                           dtype=np.float32).reshape(-1, 4)
        num_persons += len(persons)
        persons[:, 2:] += persons[:, :2]
        pred = InstanceData(bboxes=torch.from_numpy(persons),
                            scores=torch.linspace(0.9, 0.5, len(persons)))
        metric.process({}, [dict(img_id=record["ID"], ori_shape=(record["height"],
                                                                  record["width"]),
                                 pred_instances=pred)])
    return num_persons


def test_metric_writes_the_result_file_and_reports_the_file_numbers(crowd_data, tmp_path):
    from o2f_crowd.metrics import O2FCrowdHumanMetric

    records = _records(crowd_data["crowd_val"])
    metric = O2FCrowdHumanMetric(ann_file=crowd_data["crowd_val"], metric=["JI", "AP", "Recall"],
                                 outfile_prefix=str(tmp_path / "dt"))
    num_persons = _exact_predictions(records, metric)
    result = metric.evaluate(size=len(records))
    written = tmp_path / "dt.json"
    assert len(json.loads(written.read_text())) == len(records)  # mmdet's format: a JSON list
    from_file = evaluate(load_odgt(crowd_data["crowd_val"], "gt"), load_odgt(written, "dt"))
    # Only the names asked for, mmdet's names, rounded to 4 decimals as mmdet does.
    assert result == {"crowd_human/JI": round(from_file["JI"], 4),
                      "crowd_human/mAP": round(from_file["AP"], 4),
                      "crowd_human/Recall": round(from_file["Recall"], 4)}
    # Every person detected exactly, nothing else: Recall 1 and AP is the area after the first
    # point: (N - 1) / N at precision 1.
    assert result["crowd_human/Recall"] == 1.0
    assert result["crowd_human/mAP"] == round((num_persons - 1) / num_persons, 4)


def test_metric_format_only_writes_the_file_and_reports_nothing(crowd_data, tmp_path):
    from o2f_crowd.metrics import O2FCrowdHumanMetric

    records = _records(crowd_data["crowd_val"])
    with pytest.raises(ValueError, match="format_only=True needs outfile_prefix"):
        O2FCrowdHumanMetric(ann_file=crowd_data["crowd_val"], format_only=True)
    metric = O2FCrowdHumanMetric(ann_file=str(tmp_path / "absent.odgt"), format_only=True,
                                 outfile_prefix=str(tmp_path / "only"))
    _exact_predictions(records, metric)
    assert metric.evaluate(size=len(records)) == {}  # the absent gt was never read
    assert {r["ID"] for r in json.loads((tmp_path / "only.json").read_text())} == \
        {r["ID"] for r in records}


def test_metric_mr_ref_changes_the_fppi_points(tmp_path):
    import torch
    from mmengine.structures import InstanceData

    from o2f_crowd.metrics import O2FCrowdHumanMetric

    # As in test_crowd_eval's mr_reference test: 500 images, one with 3 persons; TP, FP, TP.
    gt = tmp_path / "gt.odgt"
    persons = [[0, 0, 20, 40], [50, 0, 20, 40], [100, 0, 20, 40]]
    lines = [json.dumps({"ID": "a", "height": 100, "width": 200, "gtboxes": [
        {"tag": "person", "fbox": box} for box in persons]})]
    lines += [json.dumps({"ID": f"e{i}", "height": 100, "width": 200, "gtboxes": []})
              for i in range(499)]
    gt.write_text("\n".join(lines) + "\n")
    results = {}
    for mr_ref in ("CALTECH_-2", "CALTECH_-4"):
        metric = O2FCrowdHumanMetric(ann_file=str(gt), metric="MR", mr_ref=mr_ref,
                                     outfile_prefix=str(tmp_path / mr_ref))
        boxes = torch.tensor([[0.0, 0, 20, 40], [150, 50, 170, 90], [50, 0, 70, 40]])
        metric.process({}, [dict(img_id="a", ori_shape=(100, 200), pred_instances=InstanceData(
            bboxes=boxes, scores=torch.tensor([0.9, 0.8, 0.7])))])
        results[mr_ref] = metric.evaluate(size=1)
    assert results["CALTECH_-2"] == {"crowd_human/mMR": round(1 / 3, 4)}
    assert results["CALTECH_-4"] == {
        "crowd_human/mMR": round((2 / 3) ** (1 / 3) * (1 / 3) ** (2 / 3), 4)}


@pytest.mark.parametrize("kwargs,message", [
    (dict(eval_mode=1), "eval_mode=1 is not supported"),
    (dict(eval_mode=2), "eval_mode=2 is not supported"),
    (dict(iou_thres=0.7), "iou_thres=0.7 is not supported"),
    (dict(compare_matching_method="VOC"), "compare_matching_method='VOC' is not supported"),
    (dict(mr_ref="CALTECH_-3"), "mr_ref='CALTECH_-3' is not supported"),
    (dict(num_ji_process=0), "num_ji_process=0 is not supported"),
    (dict(file_client_args=dict(backend="disk")), "deprecated"),
    (dict(backend_args=dict(backend="petrel")), "local file system"),
])
def test_metric_refuses_what_it_cannot_honour(kwargs, message):
    from o2f_crowd.metrics import O2FCrowdHumanMetric

    with pytest.raises(ValueError, match=message):
        O2FCrowdHumanMetric(ann_file="gt.odgt", **kwargs)
    # mmdet's defaults and the values it can honour are accepted.
    O2FCrowdHumanMetric(ann_file="gt.odgt", metric=["AP", "MR", "JI"], eval_mode=0,
                        iou_thres=0.5, compare_matching_method=None, mr_ref="CALTECH_-4",
                        num_ji_process=4, backend_args=dict(backend="local"))


def test_dataset_reads_sizes_from_the_id_hw_file_and_names_missing_files(tmp_path):
    from o2f_crowd.datasets import O2FCrowdHumanDataset
    from o2f_crowd.evaluation import OdgtFormatError

    root = tmp_path / "root"
    root.mkdir()
    (root / "annotation_val.odgt").write_text(
        '{"ID": "a", "gtboxes": [{"tag": "person", "fbox": [1, 2, 3, 4]}]}\n')
    kwargs = dict(data_root=str(root), ann_file="annotation_val.odgt",
                  data_prefix=dict(img="Images/"), pipeline=[])
    # No size anywhere and no image: one error naming the image path.
    with pytest.raises(OdgtFormatError, match=r"annotation_val.odgt:1: image 'a' has no "
                       r"height/width and .*Images/a.jpg is missing"):
        O2FCrowdHumanDataset(**kwargs)
    with pytest.raises(OdgtFormatError, match=r"sizes.json: image size file not found"):
        O2FCrowdHumanDataset(image_size_file="sizes.json", **kwargs)
    (root / "sizes.json").write_text('{"a": [30, 40]}')
    (root / "id_hw_val.json").write_text('{"a": [10, 20]}')
    info = O2FCrowdHumanDataset(**kwargs)[0]  # mmdet's default file name for a 'val' split
    assert (info["height"], info["width"]) == (10, 20)
    for name in ("image_size_file", "extra_ann_file"):  # mmdet's argument name works too
        info = O2FCrowdHumanDataset(**{name: "sizes.json"}, **kwargs)[0]
        assert (info["height"], info["width"]) == (30, 40)


def test_crowd_configs_load_with_the_paper_recipe():
    o2f = Config.fromfile(str(CROWD_CONFIG))
    assert o2f.o2f_task == "crowd"
    assert o2f.model.bbox_head.type == "O2FHead" and o2f.model.bbox_head.num_classes == 1
    assert o2f.model.train_cfg.assigner.num_ambiguous == 3  # 1 certain + 3 ambiguous
    assert o2f.train_cfg.max_epochs == 50
    assert o2f.model.test_cfg.max_per_img == 500 and not o2f.model.test_cfg.with_nms
    assert o2f.train_dataloader.dataset.type == "O2FCrowdHumanDataset"
    assert o2f.test_dataloader.dataset.ann_file == "annotation_val.odgt"
    assert [m["type"] for m in o2f.val_evaluator] == ["O2FCrowdHumanMetric"]
    # The best checkpoint is chosen by a name the metric reports (mmdet's name).
    assert o2f.default_hooks.checkpoint.save_best == "crowd_human/mMR"
    assert o2f.val_evaluator[0]["metric"] == ["AP", "MR", "JI", "Recall"]
    assert [h["type"] for h in o2f.custom_hooks] == ["O2FTemperatureHook"]
    fcos = Config.fromfile(str(CROWD_CONFIG.with_name("fcos_r50_crowdhuman.py")))
    assert fcos.model.bbox_head.type == "NMSSwitchFCOSHead" and fcos.model.test_cfg.with_nms
    assert fcos.model.bbox_head.num_classes == 1 and fcos.get('custom_hooks') is None


TINY_CONFIG = """
_base_ = {base!r}
data_root = {root!r}
model = dict(
    backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32, stacked_convs=1, ctr_conv_channels=16,
                   norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
    test_cfg=dict(nms_pre=100, score_thr=0.0, max_per_img=20))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations/crowd_train.odgt',
                 keep_ignore_regions={keep},
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='LoadAnnotations', with_bbox=True),
                           dict(type='RandomResize', scale=[(80, 56), (80, 72)], keep_ratio=True),
                           dict(type='RandomFlip', prob=0.5),
                           dict(type='PackDetInputs')]))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations/crowd_val.odgt',
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='Resize', scale=(80, 64), keep_ratio=True),
                           dict(type='PackDetInputs', meta_keys=('img_id', 'img_path',
                                'ori_shape', 'img_shape', 'scale_factor'))]))
test_dataloader = val_dataloader
val_evaluator = [dict(type='O2FCrowdHumanMetric', metric=['AP', 'MR', 'JI', 'Recall'],
                      ann_file=data_root + 'annotations/crowd_val.odgt')]
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=2, val_interval=2)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)]
optim_wrapper = dict(optimizer=dict(lr=0.001))
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, save_best=None, max_keep_ckpts=1))
"""


@pytest.mark.slow
def test_tiny_crowd_training_evaluates_through_the_metric_and_model_mode(
        crowd_data, tmp_path, monkeypatch):
    from o2f_crowd.train import main as train_main
    from o2f_det import O2FHead

    # Spy on the head: with keep_ignore_regions=True (TINY_CONFIG) the ignore regions of the
    # batch must reach its loss.
    ignore_counts = []
    original_loss_by_feat = O2FHead.loss_by_feat

    def spy(self, *args, **kwargs):
        ignored = kwargs.get("batch_gt_instances_ignore", args[-1] if len(args) > 5 else None)
        ignore_counts.append(sum(len(i) for i in ignored or []))
        return original_loss_by_feat(self, *args, **kwargs)

    monkeypatch.setattr(O2FHead, "loss_by_feat", spy)
    config = tmp_path / "tiny_crowd.py"
    config.write_text(TINY_CONFIG.format(base=str(CROWD_CONFIG),
                                         root=crowd_data["root"] + "/", keep=True))
    work_dir = tmp_path / "work"
    assert train_main([str(config), "--work-dir", str(work_dir)]) == 0
    # 4 training images, batch 2, 2 epochs; every ignore region of the set was seen each epoch.
    expected_ignores = sum(_is_ignore(b) for r in _records(crowd_data["crowd_train"])
                           for b in r["gtboxes"])
    assert len(ignore_counts) == 4 and sum(ignore_counts) == 2 * expected_ignores > 0
    # The val loop after epoch 2 wrote the epoch's detections next to the log and logged the
    # four numbers, which are those of evaluating that file.
    written = sorted(work_dir.glob("*/crowdhuman_dt_epoch_2.json"))
    assert len(written) == 1
    scalars = [json.loads(line) for line in sorted(work_dir.glob("*/vis_data/scalars.json"))[0]
               .read_text().splitlines()]
    logged = [s for s in scalars if "crowd_human/mAP" in s][-1]
    from_file = evaluate(load_odgt(crowd_data["crowd_val"], "gt"), load_odgt(written[0], "dt"))
    for name, logged_name in (("AP", "mAP"), ("mMR", "mMR"), ("Recall", "Recall"), ("JI", "JI")):
        assert logged[f"crowd_human/{logged_name}"] == round(from_file[name], 4)
    assert from_file["num_images_without_dt_record"] == 0

    # Model mode of tools/eval_crowd.py: inference on the val set, file, then the same numbers.
    checkpoint = work_dir / "epoch_2.pth"
    dt_path, json_path = tmp_path / "model_dt.odgt", tmp_path / "model.json"
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "eval_crowd.py"), "--config", str(config),
         "--checkpoint", str(checkpoint), "--dt", str(dt_path), "--json", str(json_path),
         "--cfg-options", f"work_dir={tmp_path / 'eval_work'}"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads(json_path.read_text())
    for name in ("AP", "mMR", "Recall", "JI"):
        assert metrics[name] == pytest.approx(from_file[name], abs=1e-12)


def test_ignore_regions_are_neither_positives_nor_negatives(crowd_data, tmp_path):
    """One image, its persons, plus an ignore region over the whole image: every unlabelled point
    is then ignored, so the classification loss drops (no negatives) while the box loss, which
    only sees the labelled points, is unchanged. A region off the image changes nothing."""
    import torch
    from mmdet.registry import MODELS
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.utils import register_all_modules
    from mmengine.structures import InstanceData

    register_all_modules()
    config = tmp_path / "tiny_crowd.py"
    config.write_text(TINY_CONFIG.format(base=str(CROWD_CONFIG),
                                         root=crowd_data["root"] + "/", keep=True))
    cfg = Config.fromfile(str(config))
    cfg.model.train_cfg.exclude_ignore_regions = True  # the deviation switch (authors': off)
    model = MODELS.build(cfg.model)
    model.train()
    model.bbox_head.set_temperature(0.6)  # as O2FTemperatureHook does before the first epoch
    from mmdet.registry import DATASETS

    dataset = DATASETS.build(dict(
        type="O2FCrowdHumanDataset", data_root=crowd_data["root"],
        ann_file="annotations/crowd_train.odgt", data_prefix=dict(img="Images/"),
        pipeline=[dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_bbox=True),
                  dict(type="PackDetInputs")]))
    index = next(i for i in range(len(dataset))
                 if len(dataset[i]["data_samples"].gt_instances) > 0)

    def losses(ignore_boxes):
        item = dataset[index]
        sample = item["data_samples"]
        sample.ignored_instances = InstanceData(
            bboxes=HorizontalBoxes(torch.tensor(ignore_boxes, dtype=torch.float32).reshape(-1, 4)),
            labels=torch.zeros(len(ignore_boxes), dtype=torch.long))
        data = model.data_preprocessor({"inputs": [item["inputs"]], "data_samples": [sample]},
                                       True)
        torch.manual_seed(0)
        return model.loss(data["inputs"], data["data_samples"])

    without = losses([])
    # A region containing no point changes nothing; one over the image removes the negatives.
    torch.testing.assert_close(losses([[1000.0, 1000.0, 1100.0, 1100.0]]), without)
    with_ignore = losses([[0.0, 0.0, 64.0, 64.0]])
    assert with_ignore["loss_cls"].item() < 0.9 * without["loss_cls"].item()
    torch.testing.assert_close(with_ignore["loss_bbox"], without["loss_bbox"])


def test_model_mode_bad_paths_are_one_line_exit_2(tmp_path):
    tool = REPO / "tools" / "eval_crowd.py"
    for args, words in (
            (["--config", str(CROWD_CONFIG), "--checkpoint", str(tmp_path / "no.pth")],
             "checkpoint not found"),
            (["--config", str(tmp_path / "no.py"), "--checkpoint", str(CROWD_CONFIG)],
             "config file not found")):
        result = subprocess.run([sys.executable, str(tool), *args, "--dt",
                                 str(tmp_path / "dt.odgt")], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 2
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def _ids(dataset):
    return [dataset.get_data_info(i)["img_id"] for i in range(len(dataset))]


def _write_odgt(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_dataset_drops_boxes_outside_the_image_or_under_one_pixel(tmp_path):
    """The authors' rule: no overlap with the image, or w < 1 or h < 1 -> dropped (persons and
    ignore regions alike); a box partly outside stays, unclipped. An image left without a person
    is dropped from training."""
    from o2f_crowd.datasets import O2FCrowdHumanDataset

    def person(box, tag="person", ignore=0):
        return {"tag": tag, "fbox": box, "vbox": box, "extra": {"ignore": ignore}}

    records = [
        {"ID": "a", "height": 100, "width": 200, "gtboxes": [
            person([10, 10, 20, 30]),                  # inside: kept
            person([-5, 50, 20, 20]),                  # partly outside: kept as is
            person([200, 10, 30, 30]),                 # starts at the right edge: no overlap
            person([10, 150, 5, 5]),                   # below the image
            person([-30, 10, 30, 10]),                 # ends at the left edge: no overlap
            person([50, 50, 0.5, 10]),                 # under 1 px wide
            person([60, 50, 10, 0.99]),                # under 1 px high
            person([70, 50, 1.0, 1.0]),                # exactly 1 px: kept
            person([100, 20, 10, 10], tag="mask"),     # ignore region inside
            person([120, 20, 10, 10], ignore=1),       # ignore region inside
            person([300, 300, 10, 10], tag="mask"),    # ignore region off the image: dropped
        ]},
        {"ID": "b", "height": 100, "width": 200, "gtboxes": [
            person([250, 10, 20, 20]), person([10, 10, 20, 20], tag="mask")]},
    ]
    ann_file = _write_odgt(tmp_path / "boxes.odgt", records)
    kept = [[10, 10, 30, 40], [-5, 50, 15, 70], [70, 50, 71, 51]]
    for keep_ignore, ignores in ((False, []), (True, [[100, 20, 110, 30], [120, 20, 130, 30]])):
        dataset = O2FCrowdHumanDataset(ann_file=ann_file, data_prefix=dict(img=""), pipeline=[],
                                       keep_ignore_regions=keep_ignore,
                                       filter_cfg=dict(filter_empty_gt=True))
        assert _ids(dataset) == ["a"]  # "b" has no person left
        instances = dataset[0]["instances"]
        assert [i["bbox"] for i in instances if not i["ignore_flag"]] == kept
        assert [i["bbox"] for i in instances if i["ignore_flag"]] == ignores
        assert all(i["bbox_label"] == (-1 if i["ignore_flag"] else 0) for i in instances)
    # Evaluation (test mode) reads every image; "b" keeps only its ignore region when asked.
    dataset = O2FCrowdHumanDataset(ann_file=ann_file, data_prefix=dict(img=""), pipeline=[],
                                   keep_ignore_regions=True, test_mode=True,
                                   filter_cfg=dict(filter_empty_gt=True))
    assert _ids(dataset) == ["a", "b"]
    assert [i["bbox"] for i in dataset[1]["instances"]] == [[10, 10, 30, 30]]


def test_ignore_region_switch_decides_what_reaches_the_head(crowd_data, tmp_path, monkeypatch):
    """The recipe's dataset (authors': ignore regions dropped) gives the head no ignore region;
    `keep_ignore_regions=True` gives it every one of the image. (The FCOS baseline has the same
    dataset: tests/test_recipes.py.)"""
    import torch
    from mmdet.registry import DATASETS, MODELS
    from mmdet.utils import register_all_modules
    from mmengine.dataset import pseudo_collate

    register_all_modules()
    leaf = tmp_path / "tiny.py"
    leaf.write_text(TINY_CONFIG.format(base=str(CROWD_CONFIG), root=crowd_data["root"] + "/",
                                       keep=False))
    cfg = Config.fromfile(str(leaf))
    recipe = Config.fromfile(str(CROWD_CONFIG))
    assert recipe.train_dataloader.dataset.keep_ignore_regions is False  # the authors' default
    head_type = MODELS.get(cfg.model.bbox_head.type)
    seen = []
    original = head_type.loss_by_feat

    def spy(self, *args, **kwargs):
        ignored = kwargs.get("batch_gt_instances_ignore", args[5] if len(args) > 5 else None)
        seen.append([len(i) for i in ignored])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(head_type, "loss_by_feat", spy)
    model = MODELS.build(cfg.model)
    model.train()
    model.bbox_head.set_temperature(0.6)  # as O2FTemperatureHook does before epoch 1
    records = _records(crowd_data["crowd_train"])
    index = next(i for i, r in enumerate(records) if any(_is_ignore(b) for b in r["gtboxes"]))
    expected = sum(_is_ignore(b) for b in records[index]["gtboxes"])
    for keep, count in ((False, 0), (True, expected)):
        dataset_cfg = cfg.train_dataloader.dataset.copy()
        dataset_cfg.update(keep_ignore_regions=keep, filter_cfg=None)
        dataset = DATASETS.build(dataset_cfg)
        batch = model.data_preprocessor(pseudo_collate([dataset[index]]), True)
        torch.manual_seed(0)
        model.loss(batch["inputs"], batch["data_samples"])
        assert seen[-1] == [count]
    assert expected > 0
