"""Every configs/det/ config loads and builds its model on CPU without touching the network."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

pytest.importorskip('mmdet')

from mmengine.config import Config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DET_CONFIGS = sorted((REPO / 'configs' / 'det').glob('*.py'))
REQUIRED = {'o2f_r50_1x.py', 'o2f_r50_3x.py', 'o2f_r101_1x.py', 'o2f_r101_3x.py',
            'o2f_swin_t_1x.py', 'o2f_swin_t_3x.py', 'fcos_r50_1x.py', 'poto_r50_1x.py'}


def test_all_required_configs_exist():
    assert REQUIRED <= {path.name for path in DET_CONFIGS}


@pytest.mark.parametrize('path', DET_CONFIGS, ids=lambda p: p.name)
def test_config_builds_model_on_cpu(path, no_network):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(str(path))
    assert cfg.o2f_task == 'det'
    assert 'o2f_det' in cfg.custom_imports['imports']
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 1e6 or 'demo' in path.name
    head = model.bbox_head
    assert hasattr(head, 'set_with_nms')  # tools/test.py can flip NMS on every det model
    # Pretrained init stays a real ImageNet URL (not silently removed from the config).
    init = cfg.model.backbone.get('init_cfg')
    if 'demo' not in path.name:
        assert init['type'] == 'Pretrained'
        assert init['checkpoint'].startswith(('torchvision://', 'https://'))
    # One forward pass of a small image proves the built model is consistent.
    model.eval()
    with torch.no_grad():
        outs = model._forward(torch.zeros(1, 3, 64, 64))
    assert len(outs[0]) == len(cfg.model.bbox_head.strides)  # one output per FPN level


def test_paper_hyperparameters():
    r50 = Config.fromfile(str(REPO / 'configs/det/o2f_r50_1x.py'))
    assert r50.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.9,
                                               weight_decay=0.0001)
    assert r50.train_cfg.max_epochs == 12
    assert r50.param_scheduler[1].milestones == [8, 11]
    assert r50.train_dataloader.batch_size * 8 == 16  # 8 GPUs x 2 images
    assert r50.model.train_cfg.assigner == dict(type='O2FAssigner', num_ambiguous=6, alpha=0.8,
                                                center_radius=1.5, ambiguous_weight=0.4,
                                                ranking='multiply')  # official preset
    assert r50.model.bbox_head.loss_cls == dict(type='O2FSoftFocalLoss', negative_weight=0.75,
                                                gamma=2.0, loss_weight=1.0)
    assert r50.model.bbox_head.loss_bbox == dict(type='O2FGIoULoss', centerness_weighting=True,
                                                 loss_weight=2.0)
    assert r50.model.test_cfg.with_nms is False and r50.model.test_cfg.max_per_img == 100
    assert r50.custom_hooks[0].type == 'O2FTemperatureHook'
    for name in ('o2f_r50_3x.py', 'o2f_r101_3x.py', 'o2f_swin_t_3x.py'):
        cfg = Config.fromfile(str(REPO / 'configs/det' / name))
        assert cfg.train_cfg.max_epochs == 36
        assert cfg.param_scheduler[1].milestones == [24, 33]
        resize = cfg.train_dataloader.dataset.pipeline[2]
        assert resize.type == 'RandomResize' and resize.scale == [(1333, 640), (1333, 800)]
    for name in ('o2f_swin_t_1x.py', 'o2f_swin_t_3x.py'):
        cfg = Config.fromfile(str(REPO / 'configs/det' / name))
        assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=0.0001, betas=(0.9, 0.999),
                                                   weight_decay=0.05)
    fcos = Config.fromfile(str(REPO / 'configs/det/fcos_r50_1x.py'))
    assert fcos.model.bbox_head.type == 'NMSSwitchFCOSHead' and fcos.model.test_cfg.with_nms
    poto = Config.fromfile(str(REPO / 'configs/det/poto_r50_1x.py'))
    assert poto.model.bbox_head.type == 'O2FHead'  # POTO is a config change on the o2f head
    assert poto.model.train_cfg.assigner == dict(type='POTOAssigner', alpha=0.8,
                                                 center_radius=1.5, ranking='multiply')
    assert poto.model.bbox_head.loss_bbox.centerness_weighting is False
    assert poto.model.test_cfg.with_nms is False and poto.get('custom_hooks') is None
