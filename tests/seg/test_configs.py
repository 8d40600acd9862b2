"""Every configs/seg/ config loads and builds its model on CPU without touching the network."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

pytest.importorskip('mmdet')

from mmengine.config import Config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SEG_CONFIGS = sorted((REPO / 'configs' / 'seg').glob('*.py'))
REQUIRED = {'condinst_o2f_1x.py', 'condinst_o2f_3x.py', 'condinst_r50_1x.py',
            'condinst_poto_1x.py', 'condinst_o2f_demo_cpu.py', 'condinst_demo_cpu.py'}


def test_all_required_configs_exist():
    assert REQUIRED <= {path.name for path in SEG_CONFIGS}


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=lambda p: p.name)
def test_config_builds_model_on_cpu(path, no_network):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(str(path))
    assert cfg.o2f_task == 'seg'
    assert {'o2f_det', 'o2f_seg'} <= set(cfg.custom_imports['imports'])
    assert cfg.custom_imports['allow_failed_imports'] is False
    model = MODELS.build(cfg.model)
    assert hasattr(model.bbox_head, 'set_with_nms')  # tools/test.py flips NMS on every model
    init = cfg.model.backbone.get('init_cfg')
    if 'demo' not in path.name:  # the ImageNet init stays a real URL
        assert init == dict(type='Pretrained', checkpoint='torchvision://resnet50')
    model.eval()
    with torch.no_grad():  # one forward proves the built model is consistent
        feats = model.extract_feat(torch.zeros(1, 3, 64, 64))
        bbox_outs = model.bbox_head(feats)
        mask_feats = model.mask_head.mask_feature_head(feats)
    assert len(bbox_outs) == 4  # cls, box, centerness, dynamic filters
    assert bbox_outs[3][0].shape[1] == model.mask_head.num_params
    assert mask_feats.shape[1] == model.mask_head.in_channels


def test_schedules_and_switches():
    o2f = Config.fromfile(str(REPO / 'configs/seg/condinst_o2f_1x.py'))
    assert o2f.model.type == 'O2FCondInst' and o2f.model.mask_iou_matching is False
    assert o2f.model.bbox_head.type == 'O2FCondInstBboxHead'
    assert o2f.model.mask_head.type == 'O2FCondInstMaskHead'
    assert o2f.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.9,
                                               weight_decay=0.0001)
    assert o2f.train_cfg.max_epochs == 12 and o2f.param_scheduler[1].milestones == [8, 11]
    assert o2f.train_dataloader.dataset.data_root == 'data/coco/'
    assert o2f.model.test_cfg.with_nms is False and o2f.model.test_cfg.max_per_img == 100
    assert o2f.custom_hooks == [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2,
                                     by_epoch=True)]
    assert set(o2f.val_evaluator.metric) == {'bbox', 'segm'}

    o2f_3x = Config.fromfile(str(REPO / 'configs/seg/condinst_o2f_3x.py'))
    assert o2f_3x.train_cfg.max_epochs == 36 and o2f_3x.param_scheduler[1].milestones == [24, 33]
    resize = o2f_3x.train_dataloader.dataset.pipeline[2]
    assert resize.type == 'RandomResize' and resize.scale == [(1333, 640), (1333, 800)]
    assert o2f_3x.train_dataloader.dataset.pipeline[1].with_mask

    baseline = Config.fromfile(str(REPO / 'configs/seg/condinst_r50_1x.py'))
    assert baseline.model.bbox_head.type == 'NMSSwitchCondInstBboxHead'
    assert baseline.model.mask_head.type == 'CondInstMaskHead'
    assert baseline.model.test_cfg.with_nms is True and baseline.get('custom_hooks') is None
    assert baseline.train_cfg == o2f.train_cfg  # same schedule as o2f 1x

    poto = Config.fromfile(str(REPO / 'configs/seg/condinst_poto_1x.py'))
    assert poto.model.bbox_head.type == 'O2FCondInstBboxHead'  # POTO: a config change
    assert poto.model.bbox_head.loss_bbox.centerness_weighting is False
    assert poto.model.train_cfg.assigner == dict(type='POTOAssigner', alpha=0.8,
                                                 center_radius=1.5, ranking='multiply')
    assert poto.model.test_cfg.with_nms is False and poto.get('custom_hooks') is None
    assert poto.train_cfg == o2f.train_cfg and poto.optim_wrapper == o2f.optim_wrapper

    alias = Config.fromfile(str(REPO / 'configs/seg/_base_/condinst_o2f_r50_fpn.py'))
    assert alias.model == o2f.model and alias.train_dataloader == o2f.train_dataloader
