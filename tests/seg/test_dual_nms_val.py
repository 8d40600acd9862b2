"""O2FDualNMSValLoop on CondInst: box and mask AP without and with NMS from one forward pass."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip('mmdet')
pytest.importorskip('pycocotools')

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'configs' / 'seg' / 'condinst_o2f_demo_cpu.py'


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory) -> Path:
    from o2f_core.synthetic import write_synthetic_dataset

    root = tmp_path_factory.mktemp('seg_dual') / 'data'
    write_synthetic_dataset(root, num_train=2, num_val=4, image_size=(96, 96), seed=3,
                            num_classes=3, max_objects=6)
    return root


def test_one_epoch_logs_box_and_mask_ap_both_ways(synthetic, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from o2f_core.curves import read_run

    cfg = Config.fromfile(str(DEMO))
    root = str(synthetic) + '/'
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.batch_size = 2
        loader.dataset.data_root = root
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator.ann_file = root + 'annotations/instances_val.json'
    cfg.train_cfg.max_epochs, cfg.train_cfg.val_interval = 1, 1
    cfg.val_cfg = dict(type='O2FDualNMSValLoop')
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.default_hooks.visualization = dict(type='DetVisualizationHook', draw=False)
    cfg.work_dir = str(tmp_path / 'seg')
    # mmengine keeps one visualizer per name (the config's 'visualizer'): a runner of an
    # earlier test would receive this run's scalars
    cfg.visualizer.name = cfg.experiment_name = f'dual-{id(cfg)}'
    runner = Runner.from_cfg(cfg)
    calls = []
    runner.model.backbone.register_forward_hook(lambda *args: calls.append(runner.train_loop.iter))
    runner.train()
    run = read_run(tmp_path / 'seg')
    for key in ('coco/bbox_mAP', 'coco/segm_mAP', 'nms/coco/bbox_mAP', 'nms/coco/segm_mAP'):
        assert run.metric(key)[0] == [1], key
    # 1 training batch + 2 validation batches: the backbone ran once per validation batch
    assert len(calls) == 1 + len(runner.val_dataloader) == 3
    assert runner.model.bbox_head.test_cfg.get('with_nms', False) is False
