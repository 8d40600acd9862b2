"""The recipes the README calls official are the authors' recipes, field by field; the configs are
split by concern (models / datasets / schedules / runtime) with shallow inheritance.

``AUTHORS`` is typed by hand from the authors' mmdet 2 configs (github strongwolf/o2f,
``configs/*.py``, and the defaults of their ``o2f_head.py`` / ``crowdhuman/crowdhuman.py``), in
their vocabulary. ``recipe_of`` reads the same fields out of our mmdet 3 configs through fixed
translation rules (warm-up + step policy from ``param_scheduler``, resize modes from the pipeline,
K from ``num_ambiguous`` ...), never from the table, so any drift of a config fails here.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

pytest.importorskip('mmdet')

from mmengine.config import Config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'configs'


# --------------------------------------------------------------------------------------------
# The authors' values (mmdet 2 vocabulary), typed from their files.
# --------------------------------------------------------------------------------------------
def _resnet(depth: int) -> dict:
    return dict(type='ResNet', depth=depth, num_stages=4, out_indices=(0, 1, 2, 3),
                frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True,
                style='pytorch',
                init_cfg=dict(type='Pretrained', checkpoint=f'torchvision://resnet{depth}'))


SWIN_T = dict(
    type='SwinTransformer', frozen_stages=1, embed_dims=96, depths=[2, 2, 6, 2],
    num_heads=[3, 6, 12, 24], window_size=7, mlp_ratio=4, qkv_bias=True, qk_scale=None,
    drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.2, patch_norm=True,
    out_indices=(0, 1, 2, 3), with_cp=False, convert_weights=True,
    init_cfg=dict(type='Pretrained', checkpoint='https://github.com/SwinTransformer/storage/'
                  'releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth'))
FPN_R = dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, start_level=1,
             add_extra_convs='on_output', num_outs=5, relu_before_extra_convs=True)
FPN_SWIN = dict(FPN_R, in_channels=[96, 192, 384, 768])


def _head(num_classes: int = 80, o2f_topk: int = 7, max_epoch: int = 12) -> dict:
    """Their O2FHead as configured (config keys + constructor defaults + hard-coded values).

    loss_cls is not listed: their head never calls it (it trains with its SoftFocalLoss).
    """
    return dict(
        type='O2FHead', num_classes=num_classes, in_channels=256, stacked_convs=4,
        feat_channels=256, conv_bias=True, norm_on_bbox=True, centerness_on_reg=True,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),   # constructor default
        o2f_topk=o2f_topk,                  # K, the certain positive included
        poto_alpha=0.8,                     # constructor default
        center_sample_radius=1.5,           # constructor default (their centre region)
        soft_weight=0.4, max_soft_weight=1.0,  # hard-coded in __init__
        centerness_weighted_giou=True,      # weight=pos_centerness_targets
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        centerness_convs=3, centerness_conv_channels=64,  # feat_channels // 4
        max_epoch=max_epoch, max_t=0.6, min_t=0.2, t_per_epoch=True)  # ff(epoch) via HeadHook


def _test_cfg(nms_pre: int = 1000, max_per_img: int = 100) -> dict:
    # Their min_bbox_size=0 is not listed: their _bbox_post_process never reads it (see
    # 'test.min_bbox_size').
    return dict(nms_pre=nms_pre, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6),
                max_per_img=max_per_img, with_nms=False)


def _lr_config(step: list[int]) -> dict:
    return dict(policy='step', warmup='linear', warmup_iters=1000, warmup_ratio=0.001, step=step)


SGD = dict(type='SGD', lr=0.01, paramwise_cfg=dict(norm_decay_mult=0.0), momentum=0.9,
           weight_decay=0.0001)
ADAMW_SWIN = dict(type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05,
                  paramwise_cfg=dict(custom_keys={
                      'absolute_pos_embed': dict(decay_mult=0.0),
                      'relative_position_bias_table': dict(decay_mult=0.0),
                      'norm': dict(decay_mult=0.0)}))
COCO_DATA = {
    'img_norm_cfg': dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         to_rgb=True),
    'pad.size_divisor': 32,
    'data.samples_per_gpu': 2,
    'data.workers_per_gpu': 2,
    'train.resize': dict(img_scale=(1333, 800), multiscale_mode='value', keep_ratio=True),
    'train.flip_ratio': 0.5,
    'test.img_scale': (1333, 800),
    'test.flip': False,
    'test.min_bbox_size': 'not applied',
    # Their `classwise=True` only prints a per-class table: not a recipe field.
    'evaluation': dict(interval=1, metric='bbox'),
}
COCO_MS = {'train.resize': dict(img_scale=[(1333, 640), (1333, 800)], multiscale_mode='range',
                                keep_ratio=True)}


def _coco(backbone, neck, optimizer, step, epochs, ms=False) -> dict:
    return {**COCO_DATA, **(COCO_MS if ms else {}),
            'model.backbone': backbone, 'model.neck': neck,
            'model.bbox_head': _head(max_epoch=epochs), 'model.test_cfg': _test_cfg(),
            'optimizer': optimizer, 'optimizer_config.grad_clip': None,
            'lr_config': _lr_config(step), 'total_epochs': epochs}


AUTHORS = {
    'det/o2f_r50_1x.py': _coco(_resnet(50), FPN_R, SGD, [8, 11], 12),            # r50_1x.py
    'det/o2f_r50_3x.py': _coco(_resnet(50), FPN_R, SGD, [24, 33], 36, ms=True),  # r50_3x_ms.py
    'det/o2f_r101_1x.py': _coco(_resnet(101), FPN_R, SGD, [8, 11], 12),          # r101_1x.py
    'det/o2f_r101_3x.py': _coco(_resnet(101), FPN_R, SGD, [24, 33], 36, ms=True),
    'det/o2f_swin_t_1x.py': _coco(SWIN_T, FPN_SWIN, ADAMW_SWIN, [8, 11], 12),    # swin_1x.py
    'det/o2f_swin_t_3x.py': _coco(SWIN_T, FPN_SWIN, ADAMW_SWIN, [24, 33], 36, ms=True),
    'crowd/o2f_r50_crowdhuman.py': {                                              # crowdhuman.py
        **COCO_DATA,
        'model.backbone': _resnet(50), 'model.neck': FPN_R,
        'model.bbox_head': _head(num_classes=1, o2f_topk=4, max_epoch=50),
        'model.test_cfg': _test_cfg(nms_pre=5000, max_per_img=500),
        'train.resize': dict(img_scale=[(1400, 480), (1400, 960)], multiscale_mode='range',
                             keep_ratio=True),
        'test.img_scale': (1400, 800),
        'optimizer': dict(type='AdamW', lr=4e-05, weight_decay=0.0001),
        'optimizer_config.grad_clip': None,
        'lr_config': _lr_config([40]), 'total_epochs': 50,
        # Their CrowdHuman evaluate() ignores metric/classwise: only the interval matters.
        'evaluation': dict(interval=1),
        # Their dataset: `iscrowd` boxes go to gt_bboxes_ignore, which Collect never passes on.
        'data.train.ignore_regions_to_head': False,
        # Their head fails on an image without a person, so their training set had none.
        'data.train.images_without_person': 'dropped',
    },
}


# --------------------------------------------------------------------------------------------
# Translation of our mmdet 3 configs into that vocabulary (fixed rules, not the table).
# --------------------------------------------------------------------------------------------
def _plain(value):
    """Config values as plain Python: dicts, lists (tuples too), scalars."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _default(cls, name):
    return inspect.signature(cls.__init__).parameters[name].default


def _head_of(cfg) -> dict:
    from o2f_det.models.o2f_head import DEFAULT_CENTERNESS_BRANCH

    head, train = cfg.model.bbox_head, cfg.model.train_cfg
    assigner = train.assigner
    hooks = [h for h in cfg.get('custom_hooks', []) if h.type == 'O2FTemperatureHook']
    hook = hooks[0] if len(hooks) == 1 else {}
    loss_bbox = head.get('loss_bbox', {})  # O2FGIoULoss: its defaults are the authors'
    branch = {**DEFAULT_CENTERNESS_BRANCH, **head.get('centerness_branch', {})}
    return dict(
        type=head.type, num_classes=head.num_classes, in_channels=head.in_channels,
        stacked_convs=head.stacked_convs, feat_channels=head.feat_channels,
        conv_bias=head.conv_bias, norm_on_bbox=head.norm_on_bbox,
        centerness_on_reg=head.centerness_on_reg, strides=head.strides, norm_cfg=head.norm_cfg,
        o2f_topk=assigner.num_ambiguous + 1, poto_alpha=assigner.alpha,
        center_sample_radius=assigner.center_radius,
        soft_weight=assigner.ambiguous_weight, max_soft_weight=1.0,
        centerness_weighted_giou=loss_bbox.get('centerness_weighting', True),
        loss_bbox=dict(type='GIoULoss', loss_weight=loss_bbox.get('loss_weight', 2.0)),
        centerness_convs=branch['num_convs'],
        centerness_conv_channels=branch['channels'],
        max_epoch=cfg.train_cfg.max_epochs if hook.get('by_epoch') else None,
        max_t=hook.get('t_max'), min_t=hook.get('t_min'), t_per_epoch=hook.get('by_epoch'))


def _resize_of(pipeline) -> dict | list:
    for step in pipeline:
        if step.type == 'Resize':
            return dict(img_scale=step.scale, multiscale_mode='value',
                        keep_ratio=step.keep_ratio)
        if step.type == 'RandomResize':  # one edge pair drawn uniformly between two scales
            return dict(img_scale=list(step.scale), multiscale_mode='range',
                        keep_ratio=step.keep_ratio)
        if step.type == 'RandomChoiceResize':
            return dict(img_scale=list(step.scales), multiscale_mode='value',
                        keep_ratio=step.keep_ratio)
    return pipeline


def _lr_config_of(cfg) -> dict | list:
    """mmdet 2 `step` policy with linear warm-up, if that is exactly what param_scheduler is."""
    schedulers = cfg.param_scheduler
    if [s.type for s in schedulers] != ['LinearLR', 'MultiStepLR']:
        return schedulers
    warm, step = schedulers
    if warm.by_epoch or warm.get('begin', 0) != 0 or warm.get('end_factor', 1.0) != 1.0 or \
            not step.by_epoch or step.get('gamma', 0.1) != 0.1 or step.get('begin', 0) != 0 or \
            step.get('end', cfg.train_cfg.max_epochs) != cfg.train_cfg.max_epochs:
        return schedulers
    return dict(policy='step', warmup='linear', warmup_iters=warm.end,
                warmup_ratio=warm.start_factor, step=step.milestones)


def recipe_of(cfg, fields) -> dict:
    """Our values of ``fields`` (the authors' keys), in the authors' vocabulary."""
    preprocessor = cfg.model.data_preprocessor
    loader = cfg.train_dataloader
    optimizer = dict(cfg.optim_wrapper.optimizer)
    if cfg.optim_wrapper.get('paramwise_cfg'):
        optimizer['paramwise_cfg'] = cfg.optim_wrapper.paramwise_cfg
    evaluator = cfg.val_evaluator
    evaluator = evaluator[0] if isinstance(evaluator, list) else evaluator
    test_cfg = dict(cfg.model.test_cfg)
    min_bbox_size = test_cfg.pop('min_bbox_size', -1)  # mmdet 3 drops boxes up to it if >= 0
    readers = {
        'model.backbone': lambda: cfg.model.backbone,
        'model.neck': lambda: cfg.model.neck,
        'model.bbox_head': lambda: _head_of(cfg),
        'model.test_cfg': lambda: test_cfg,
        'img_norm_cfg': lambda: dict(mean=preprocessor.mean, std=preprocessor.std,
                                     to_rgb=preprocessor.bgr_to_rgb),
        'pad.size_divisor': lambda: preprocessor.pad_size_divisor,
        'data.samples_per_gpu': lambda: loader.batch_size,
        'data.workers_per_gpu': lambda: loader.num_workers,
        'train.resize': lambda: _resize_of(loader.dataset.pipeline),
        'train.flip_ratio': lambda: next(s.prob for s in loader.dataset.pipeline
                                         if s.type == 'RandomFlip'),
        'test.img_scale': lambda: _resize_of(cfg.test_dataloader.dataset.pipeline)['img_scale'],
        'test.min_bbox_size': lambda: min_bbox_size if min_bbox_size >= 0 else 'not applied',
        'test.flip': lambda: any(s.type in ('RandomFlip', 'TestTimeAug')
                                 for s in cfg.test_dataloader.dataset.pipeline),
        'evaluation': lambda: {key: dict(interval=cfg.train_cfg.val_interval,
                                         metric=evaluator.get('metric'))[key]
                               for key in fields['evaluation']},
        'optimizer': lambda: optimizer,
        'optimizer_config.grad_clip': lambda: cfg.optim_wrapper.get('clip_grad'),
        'lr_config': lambda: _lr_config_of(cfg),
        'total_epochs': lambda: cfg.train_cfg.max_epochs,
        'data.train.ignore_regions_to_head': lambda: loader.dataset.get(
            'keep_ignore_regions', _crowd_default('keep_ignore_regions')),
        'data.train.images_without_person': lambda: 'dropped' if (
            loader.dataset.get('filter_cfg') or {}).get('filter_empty_gt') else 'kept',
    }
    return {key: readers[key]() for key in fields}


def _crowd_default(name):
    from o2f_crowd.datasets import O2FCrowdHumanDataset

    return _default(O2FCrowdHumanDataset, name)


def _flat(value, prefix=''):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(_flat(item, f'{prefix}.{key}' if prefix else str(key)))
        return out
    return {prefix: value}


def recipe_differences(path: Path, authors: dict) -> dict:
    """``{field: (authors' value, ours)}`` for every field where ``path`` differs."""
    ours = _flat(_plain(recipe_of(Config.fromfile(str(path)), authors)))
    theirs = _flat(_plain(authors))
    return {key: (theirs.get(key, '<absent>'), ours.get(key, '<absent>'))
            for key in sorted(set(ours) | set(theirs)) if theirs.get(key, '<absent>') !=
            ours.get(key, '<absent>')}


@pytest.mark.parametrize('name', sorted(AUTHORS))
def test_official_recipe_is_the_authors_field_by_field(name):
    differences = recipe_differences(CONFIGS / name, AUTHORS[name])
    assert not differences, '\n'.join(f'{k}: authors {a!r}, ours {o!r}'
                                      for k, (a, o) in differences.items())


def test_the_comparison_sees_a_changed_field(tmp_path):
    """A leaf that changes one recipe field (clipping back on) differs in exactly that field."""
    leaf = tmp_path / 'clipped.py'
    leaf.write_text(f"_base_ = {str(CONFIGS / 'det/o2f_r50_1x.py')!r}\n"
                    "optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))\n"
                    "model = dict(train_cfg=dict(assigner=dict(num_ambiguous=7)))\n")
    assert recipe_differences(leaf, AUTHORS['det/o2f_r50_1x.py']) == {
        'optimizer_config.grad_clip': (None, '<absent>'),
        'optimizer_config.grad_clip.max_norm': ('<absent>', 35),
        'optimizer_config.grad_clip.norm_type': ('<absent>', 2),
        'model.bbox_head.o2f_topk': (7, 8)}


# --------------------------------------------------------------------------------------------
# Baselines are like for like: only the head's training (and NMS) differs from o2f.
# --------------------------------------------------------------------------------------------
SHARED = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
          'test_evaluator', 'optim_wrapper', 'param_scheduler', 'train_cfg', 'default_hooks',
          'custom_imports', 'o2f_task', 'auto_scale_lr', 'randomness')


@pytest.mark.parametrize('baseline,o2f', [
    ('det/fcos_r50_1x.py', 'det/o2f_r50_1x.py'),
    ('det/poto_r50_1x.py', 'det/o2f_r50_1x.py'),
    ('crowd/fcos_r50_crowdhuman.py', 'crowd/o2f_r50_crowdhuman.py'),
    ('det/fcos_demo_cpu.py', 'det/o2f_demo_cpu.py'),
    ('det/poto_demo_cpu.py', 'det/o2f_demo_cpu.py'),
    ('det/poto_3dmf_r50_1x.py', 'det/o2f_r50_1x.py'),
    ('det/poto_3dmf_aux_r50_3x.py', 'det/o2f_r50_3x.py'),
    ('det/poto_3dmf_demo_cpu.py', 'det/o2f_demo_cpu.py'),
    ('det/poto_3dmf_aux_demo_cpu.py', 'det/o2f_demo_cpu.py'),
    ('crowd/fcos_crowd_demo_cpu.py', 'crowd/o2f_crowd_demo_cpu.py'),
    ('crowd/poto_crowd_demo_cpu.py', 'crowd/o2f_crowd_demo_cpu.py'),
])
def test_baselines_share_everything_but_the_head(baseline, o2f):
    base_cfg = Config.fromfile(str(CONFIGS / baseline))
    o2f_cfg = Config.fromfile(str(CONFIGS / o2f))
    for key in SHARED:
        assert _plain(base_cfg.get(key)) == _plain(o2f_cfg.get(key)), key
    for key in ('type', 'data_preprocessor', 'backbone', 'neck'):
        assert base_cfg.model[key] == o2f_cfg.model[key], key
    for key in ('num_classes', 'in_channels', 'feat_channels', 'stacked_convs', 'strides',
                'norm_cfg'):
        assert base_cfg.model.bbox_head[key] == o2f_cfg.model.bbox_head[key], key
    base_test = dict(base_cfg.model.test_cfg)
    o2f_test = dict(o2f_cfg.model.test_cfg)
    assert o2f_test.pop('with_nms') is False
    base_test.pop('with_nms')
    assert base_test == o2f_test
    # Only o2f has the temperature schedule.
    assert base_cfg.get('custom_hooks') is None and len(o2f_cfg.custom_hooks) == 1


# --------------------------------------------------------------------------------------------
# Configs by concern.
# --------------------------------------------------------------------------------------------
LEAVES = sorted([*(CONFIGS / 'det').glob('*.py'), *(CONFIGS / 'crowd').glob('*.py')])
OURS = sorted([*LEAVES, *(CONFIGS / '_base_').rglob('*.py')])


def _assigned(path: Path) -> dict:
    """Top-level ``name = value`` statements of a config file (name -> AST value)."""
    tree = ast.parse(path.read_text())
    return {target.id: node.value for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def _bases(path: Path) -> list[Path]:
    node = _assigned(path).get('_base_')
    if node is None:
        return []
    names = ast.literal_eval(node)
    names = [names] if isinstance(names, str) else names
    out = []
    for name in names:
        if name.startswith('mmdet::'):
            import mmdet

            out.append(Path(mmdet.__file__).parent / '.mim' / 'configs' / name[len('mmdet::'):])
        else:
            out.append((path.parent / name).resolve())
    return out


def _depth(path: Path) -> int:
    bases = _bases(path)
    return 1 + max(_depth(base) for base in bases) if bases else 0


@pytest.mark.parametrize('path', OURS, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_inheritance_is_shallow_and_nothing_is_undone(path):
    assert _depth(path) <= 2  # leaf -> configs/_base_/... -> mmdet::_base_/...
    for base in _bases(path):
        assert base.is_file(), base
        if base.is_relative_to(CONFIGS):  # our leaves build on concern bases, not on leaves
            assert base.relative_to(CONFIGS).parts[0] == '_base_', base
    text = path.read_text()
    assert '_delete_' not in text
    for name, node in _assigned(path).items():
        assert not (name == 'custom_hooks' and isinstance(node, ast.List) and not node.elts)
    model = _assigned(path).get('model')
    if isinstance(model, ast.Call):  # no `train_cfg=None` to switch the o2f recipe off
        assert not any(kw.arg == 'train_cfg' and isinstance(kw.value, ast.Constant)
                       and kw.value.value is None for kw in model.keywords)


OWNED = {
    'models': {'model', 'custom_hooks', 'pretrained'},
    'datasets': {'dataset_type', 'data_root', 'backend_args', 'image_size', 'classes',
                 'train_pipeline', 'test_pipeline', 'train_dataloader', 'val_dataloader',
                 'test_dataloader', 'val_evaluator', 'test_evaluator'},
    'schedules': {'max_epochs', 'train_cfg', 'val_cfg', 'test_cfg', 'optim_wrapper',
                  'param_scheduler', 'auto_scale_lr'},
}


@pytest.mark.parametrize('concern', sorted(OWNED))
def test_each_concern_base_owns_only_its_keys(concern):
    files = sorted((CONFIGS / '_base_' / concern).glob('*.py'))
    assert files
    for path in files:
        keys = set(Config.fromfile(str(path)).to_dict())
        assert keys <= OWNED[concern], (path.name, keys - OWNED[concern])
    # The runtime base owns none of them.
    runtime = set(Config.fromfile(str(CONFIGS / '_base_' / 'default_runtime.py')).to_dict())
    assert not runtime & set().union(*OWNED.values())
    assert {'default_hooks', 'custom_imports', 'default_scope'} <= runtime


def test_leaves_only_combine_bases_and_set_values():
    for path in LEAVES:
        keys = set(_assigned(path)) - {'_base_'}
        assert keys <= {'o2f_task', 'custom_imports', 'model', 'default_hooks', 'randomness'}, \
            (path.name, keys)
        assert len(_bases(path)) == 4  # one model, one dataset, one schedule, the runtime


def test_every_config_path_and_task_is_kept():
    tasks = {p.relative_to(CONFIGS).as_posix(): Config.fromfile(str(p)).o2f_task for p in LEAVES}
    assert tasks == {
        'crowd/fcos_r50_crowdhuman.py': 'crowd', 'crowd/o2f_r50_crowdhuman.py': 'crowd',
        **{f'crowd/{name}_crowd_demo_cpu.py': 'crowd' for name in ('fcos', 'o2f', 'poto')},
        **{f'det/{name}.py': 'det' for name in (
            'fcos_demo_cpu', 'fcos_r50_1x', 'o2f_demo_cpu', 'o2f_r101_1x', 'o2f_r101_3x',
            'o2f_r50_1x', 'o2f_r50_3x', 'o2f_swin_t_1x', 'o2f_swin_t_3x', 'poto_demo_cpu',
            'poto_r50_1x', 'poto_3dmf_r50_1x', 'poto_3dmf_r50_3x', 'poto_3dmf_aux_r50_1x',
            'poto_3dmf_aux_r50_3x', 'fcos_hybrid_epoch_r50_1x', 'fcos_hybrid_epoch_r50_3x',
            'poto_3dmf_demo_cpu', 'poto_3dmf_aux_demo_cpu', 'fcos_hybrid_epoch_demo_cpu')}}
    # The former single base still loads as the R50 1x recipe.
    alias = Config.fromfile(str(CONFIGS / '_base_' / 'o2f_fcos_r50_fpn.py'))
    r50 = Config.fromfile(str(CONFIGS / 'det' / 'o2f_r50_1x.py'))
    assert _plain(alias.to_dict()) == _plain(r50.to_dict())


@pytest.mark.parametrize('name', ['crowd/o2f_r50_crowdhuman.py', 'crowd/fcos_r50_crowdhuman.py'])
def test_crowdhuman_does_not_inherit_the_coco_dataset(name):
    path = CONFIGS / name

    def chain(p):
        return [p, *(q for base in _bases(p) for q in chain(base))]

    assert not [p for p in chain(path) if 'coco' in p.name]
    cfg = Config.fromfile(str(path))
    train = cfg.train_dataloader.dataset
    assert train.type == 'O2FCrowdHumanDataset' and train.data_root == 'data/crowdhuman/'
    # No COCO image-size filter (min_size=32); only images without a person are dropped.
    assert train.filter_cfg == dict(filter_empty_gt=True)
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        assert loader.dataset.type == 'O2FCrowdHumanDataset' and 'filter_cfg' not in \
            loader.dataset
