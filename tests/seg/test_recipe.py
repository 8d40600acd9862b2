"""configs/seg/condinst_o2f_{1x,3x}.py against the authors' recipe, field by field.

The expected values are written out by hand from the authors' configs/condinst_r50_1x.py and
condinst_r50_3x.py (github strongwolf/o2f) and the code they run (condinst_head.py, sfl.py,
head_hook.py), translated to this repository's keys; each comment names the authors' field.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytest.importorskip('mmdet')

from mmengine.config import Config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

BACKBONE = dict(type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
                frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True,
                style='pytorch',
                init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'))
NECK = dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, start_level=1,
            add_extra_convs='on_output', num_outs=5, relu_before_extra_convs=True)
DATA_PREPROCESSOR = dict(  # img_norm_cfg (to_rgb=True), Pad size_divisor=32
    type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_mask=True, pad_size_divisor=32)
BBOX_HEAD = dict(
    type='O2FCondInstBboxHead', num_classes=80, in_channels=256, stacked_convs=4,
    feat_channels=256, strides=[8, 16, 32, 64, 128], conv_bias=True,
    norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),  # the head's default
    num_params=169,          # 3 dynamic layers of 8 channels on 8 bases + 2 coordinates
    norm_on_bbox=True,       # targets / strides, relu(scale(pred)) * stride at test time
    centerness_on_reg=True,  # centerness_convs on reg_feat
    dcn_on_last_conv=False,
    # 3 ConvModules to feat_channels // 4 = 64 (T: only O2FTemperatureHook, ff(0) = max_t = 0.6)
    centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=64),
    # SoftFocalLoss loss_weight 1.0 (negatives x0.75, gamma 2)
    loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
    # GIoULoss loss_weight=1.0, weight=pos_qlty_targets (centerness)
    loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=True, loss_weight=1.0),
    mask_centres=True,                      # centre sampling at the masks' m10/m00, m01/m00
    mask_centre_half_pixel=False)           # xxs = arange(0, w): the pixel index
MASK_HEAD = dict(
    type='O2FCondInstMaskHead',
    num_layers=3, feat_channels=8,          # num_dynamic_layers=3, dynamic_channels=8
    size_of_interest=8,                     # relative coords / (strides * 8)
    mask_out_stride=4,                      # mask_out_stride=4
    max_masks_to_train=-1,                  # max_proposals=-1, topk_proposals_per_im=-1
    mask_weighting='uniform',               # dice_coefficient(...) averaged over positives
    mask_feature_head=dict(                 # mask_inputs=(0, 1, 2), mask_channels=128,
        in_channels=256, feat_channels=128,  # num_mask_layers=4, num_bases=8, BN
        start_level=0, end_level=2, out_channels=8, mask_stride=8, num_stacked_convs=4,
        norm_cfg=dict(type='BN', requires_grad=True)),
    # mask_loss_weight = 2; eps 1e-5 in the union = 5e-6 on each of the two sums
    loss_mask=dict(type='DiceLoss', use_sigmoid=True, activate=True, eps=5e-6, loss_weight=2.0),
    # sem_loss_on = True: self.loss_cls (FocalLoss gamma 2, alpha 0.25) on seg_out(seg_head(P3))
    loss_semantic=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                       loss_weight=1.0),
    num_classes=80, semantic_channels=128)
TRAIN_CFG = dict(
    # o2f_topk=7 (certain + 6), quality = prob^(1 - 0.8) * iou^0.8, radius 1.5, soft_weight 0.4
    assigner=dict(type='O2FAssigner', num_ambiguous=6, alpha=0.8, center_radius=1.5,
                  ambiguous_weight=0.4, ranking='multiply'))
TEST_CFG = dict(nms_pre=1000, score_thr=0.05, max_per_img=100, with_nms=False,
                nms=dict(type='nms', iou_threshold=0.6),  # iou_thr=0.6
                mask_thr=0.5,           # mask_pred.gt(0.5)
                min_bbox_size=-1,       # 0 in their config, never read by their code
                joint_score_thr=False)  # valid_mask = scores > score_thr before the multiply
OPTIM_WRAPPER = dict(  # optimizer, optimizer_config grad_clip=None
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0))
WARMUP = dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500)
TEST_PIPELINE_SCALE = (1333, 800)  # MultiScaleFlipAug img_scale=(1333, 800), keep_ratio


def load(name: str) -> Config:
    return Config.fromfile(str(REPO / 'configs' / 'seg' / name))


def without(cfg: dict, *keys: str) -> dict:
    return {key: value for key, value in cfg.items() if key not in keys}


@pytest.mark.parametrize('name', ['condinst_o2f_1x.py', 'condinst_o2f_3x.py'])
def test_model_equals_the_authors(name):
    model = load(name).model.to_dict()
    assert model['type'] == 'O2FCondInst' and model['mask_iou_matching'] is False
    assert model['data_preprocessor'] == DATA_PREPROCESSOR
    assert model['backbone'] == BACKBONE
    assert model['neck'] == NECK
    assert model['bbox_head'] == BBOX_HEAD
    assert model['mask_head'] == MASK_HEAD
    assert model['train_cfg'] == TRAIN_CFG
    assert model['test_cfg'] == TEST_CFG


@pytest.mark.parametrize('name, epochs, milestones, scale', [
    ('condinst_o2f_1x.py', 12, [8, 11], dict(type='Resize', scale=(1333, 800), keep_ratio=True)),
    ('condinst_o2f_3x.py', 36, [24, 33],
     dict(type='RandomResize', scale=[(1333, 640), (1333, 800)], keep_ratio=True)),
])
def test_schedule_and_data_equal_the_authors(name, epochs, milestones, scale):
    cfg = load(name)
    # max_epoch / runner max_epochs; T from 0.6 to 0.2 over them (ff, HeadHook)
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.custom_hooks == [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2,
                                     by_epoch=True)]
    assert cfg.optim_wrapper.to_dict() == OPTIM_WRAPPER  # no clip_grad key: no clipping
    assert [s.to_dict() for s in cfg.param_scheduler] == [  # lr_config step, warm-up
        WARMUP, dict(type='MultiStepLR', begin=0, end=epochs, by_epoch=True,
                     milestones=milestones, gamma=0.1)]
    train = cfg.train_dataloader
    assert train.batch_size == 2  # samples_per_gpu=2 (x 8 GPUs = 16 images per step)
    assert cfg.auto_scale_lr.base_batch_size == 16
    pipeline = [without(step.to_dict(), 'backend_args') for step in train.dataset.pipeline]
    assert pipeline == [dict(type='LoadImageFromFile'),
                        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                        scale, dict(type='RandomFlip', prob=0.5), dict(type='PackDetInputs')]
    # mmdet 2's CocoDataset defaults behind their data.train
    assert train.dataset.filter_cfg == dict(filter_empty_gt=True, min_size=32)
    assert train.dataset.ann_file == 'annotations/instances_train2017.json'
    test_resize = cfg.test_dataloader.dataset.pipeline[1]
    assert test_resize.type == 'Resize' and test_resize.scale == TEST_PIPELINE_SCALE
    assert test_resize.keep_ratio is True
    assert set(cfg.val_evaluator.metric) == {'bbox', 'segm'}  # evaluation metric


SEG_CONFIG_FILES = sorted((REPO / 'configs' / 'seg').rglob('*.py'))
OUR_BASES = [path for folder in ('models', 'datasets', 'schedules')
             for path in (REPO / 'configs' / '_base_' / folder).glob('*.py')
             if path.name.startswith(('condinst_', 'coco_instance'))]


def base_files(path: Path) -> list[str]:
    """The ``_base_`` entries of a config file, read without executing it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == '_base_'
                for target in node.targets):
            value = ast.literal_eval(node.value)
            return [value] if isinstance(value, str) else list(value)
    return []


def depth(path: Path) -> int:
    """Longest chain of ``_base_`` links below ``path``; an ``mmdet::`` base counts 1."""
    links = [1 if base.startswith('mmdet::') else 1 + depth((path.parent / base).resolve())
             for base in base_files(path)]
    return max(links, default=0)


@pytest.mark.parametrize('path', SEG_CONFIG_FILES + OUR_BASES,
                         ids=lambda p: str(p.relative_to(REPO)))
def test_configs_by_concern_inherit_at_most_two_levels_and_undo_nothing(path):
    text = path.read_text()
    assert depth(path) <= 2
    assert '_delete_' not in text and not re.search(r'custom_hooks\s*=\s*\[\]', text)
    # a key set to None undoes an inherited value; None as a value of its own is fine for the
    # storage backend and for a from-scratch backbone (the demo)
    assert set(re.findall(r'(\w+)\s*=\s*None', text)) <= {'backend_args', 'init_cfg'}


def test_baselines_do_not_inherit_the_o2f_model():
    def all_bases(path: Path) -> set[str]:
        names = set()
        for base in base_files(path):
            if not base.startswith('mmdet::'):
                resolved = (path.parent / base).resolve()
                names |= {resolved.name} | all_bases(resolved)
        return names

    for name in ('condinst_r50_1x.py', 'condinst_poto_1x.py'):
        bases = all_bases(REPO / 'configs' / 'seg' / name)
        assert 'condinst_o2f_r50_fpn.py' not in bases, name
        assert 'condinst_r50_fpn_common.py' in bases, name
    assert load('condinst_r50_1x.py').get('custom_hooks') is None  # no T schedule
    assert load('condinst_poto_1x.py').get('custom_hooks') is None


def test_each_concern_sits_in_its_own_file():
    owners = {'models': {'model', 'custom_imports', 'o2f_task', 'custom_hooks'},
              'datasets': {'dataset_type', 'data_root', 'backend_args', 'image_size', 'classes',
                           'train_pipeline',
                           'test_pipeline', 'train_dataloader', 'val_dataloader',
                           'test_dataloader', 'val_evaluator', 'test_evaluator'},
              'schedules': {'train_cfg', 'val_cfg', 'test_cfg', 'param_scheduler',
                            'optim_wrapper', 'auto_scale_lr', 'max_epochs'}}
    for path in OUR_BASES:
        keys = {target.id for node in ast.parse(path.read_text()).body
                if isinstance(node, ast.Assign) for target in node.targets
                if isinstance(target, ast.Name)} - {'_base_'}
        assert keys <= owners[path.parent.name], (path.name, keys - owners[path.parent.name])
