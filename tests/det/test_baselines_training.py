"""The Table 5 baselines' CPU demo configs train a few iterations on synthetic data (through
reproduce.py's small-scale config) and predict without NMS and with the NMS switch."""

from __future__ import annotations

import math

import pytest

pytest.importorskip('mmdet')
pytest.importorskip('matplotlib')
torch = pytest.importorskip('torch')

from o2f_det.experiments.reproduce import (  # noqa: E402
    QUICK,
    Row,
    build_config,
    ensure_dataset,
    table_rows,
)

# demo config -> the loss terms its head adds
DEMOS = {
    'configs/det/poto_3dmf_demo_cpu.py': {'loss_cls', 'loss_bbox'},
    'configs/det/poto_3dmf_aux_demo_cpu.py': {'loss_cls', 'loss_bbox', 'loss_cls_aux'},
    'configs/det/fcos_hybrid_epoch_demo_cpu.py': {'loss_cls_o2m', 'loss_bbox_o2m',
                                                  'loss_cls_o2o', 'loss_bbox_o2o'},
}


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return ensure_dataset(str(tmp_path_factory.mktemp('baseline_data')), QUICK)


def pairwise_iou(boxes):
    from o2f_core.assigner import pairwise_iou as iou

    return iou(boxes, boxes)


@pytest.mark.parametrize('config', sorted(DEMOS))
def test_demo_config_trains_and_predicts_with_and_without_nms(config, data_root, tmp_path):
    from mmengine.runner import Runner

    cfg = build_config(Row(config, config), data_root, QUICK, 0, str(tmp_path))
    cfg.visualizer.name = cfg.experiment_name = f'baseline-{id(cfg)}'
    if 'hybrid' in config:  # 16 of 24 epochs -> 1 of 2: one epoch each side of the switch
        assert cfg.model.train_cfg.switch_epoch == 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    names = {key[len('train/'):] for key in scalars if key.startswith('train/loss_')}
    assert names == DEMOS[config]
    for name in names:
        assert all(math.isfinite(v) for v in scalars[f'train/{name}'].data[0])
    iters = len(scalars['train/loss'].data[0])
    assert iters == QUICK.epochs * QUICK.num_train // QUICK.batch_size
    if 'hybrid' in config:  # one-to-many in epoch 0, one-to-one in epoch 1 (weights 0 / 1)
        half = iters // 2
        o2m, o2o = scalars['train/loss_cls_o2m'].data[0], scalars['train/loss_cls_o2o'].data[0]
        assert all(v > 0 for v in o2m[:half]) and all(v == 0 for v in o2m[half:])
        assert all(v == 0 for v in o2o[:half]) and all(v > 0 for v in o2o[half:])
    # the dual validation loop ran both post-processes
    assert {'val/coco/bbox_mAP', 'val/nms/coco/bbox_mAP'} <= set(scalars)

    model = runner.model.eval()
    batch = next(iter(runner.val_dataloader))
    model.bbox_head.set_with_nms(False)
    with torch.no_grad():
        free = model.test_step(batch)[0].pred_instances
    model.bbox_head.set_with_nms(True)
    with torch.no_grad():
        nms = model.test_step(batch)[0].pred_instances
    assert 0 < len(nms) <= len(free) <= cfg.model.test_cfg.max_per_img
    assert torch.all(free.scores[:-1] >= free.scores[1:])
    iou = pairwise_iou(nms.bboxes).triu(diagonal=1)
    same_class = nms.labels[:, None] == nms.labels[None, :]
    assert not bool(((iou > 0.6) & same_class).any())  # NMS at IoU 0.6 ran


def test_table5_rows_run_the_new_demo_configs():
    rows = {row.name: row for row in table_rows('table5')}
    expected = {'POTO + 3DMF': ('poto_3dmf_demo_cpu.py', 'poto_3dmf_r50_1x.py'),
                'POTO + 3DMF + Aux': ('poto_3dmf_aux_demo_cpu.py', 'poto_3dmf_aux_r50_1x.py'),
                'Hybrid-Epoch': ('fcos_hybrid_epoch_demo_cpu.py', 'fcos_hybrid_epoch_r50_1x.py')}
    for name, (demo, full) in expected.items():
        row = rows[name]
        assert row.missing is None
        assert row.config == f'configs/det/{demo}' and row.full_config == f'configs/det/{full}'
