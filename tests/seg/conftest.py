"""Fixtures of the seg tests: a tiny CondInst-o2f (ResNet-18 at 1/8 width, 128 px inputs)."""

from __future__ import annotations

import copy

import pytest

# Strides of the tiny model's levels (P3-P6) and the width of its FPN / heads.
TINY_STRIDES = (8, 16, 32, 64)
TINY_CHANNELS = 16

TINY_MODEL = dict(
    type='O2FCondInst',
    mask_iou_matching=False,
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_mask=True,
                           pad_size_divisor=32),
    backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8, num_stages=4,
                  out_indices=(1, 2, 3), norm_cfg=dict(type='BN', requires_grad=True),
                  norm_eval=False, style='pytorch', init_cfg=None),
    neck=dict(type='FPN', in_channels=[16, 32, 64], out_channels=TINY_CHANNELS, start_level=0,
              add_extra_convs='on_output', num_outs=4, relu_before_extra_convs=True),
    bbox_head=dict(type='O2FCondInstBboxHead', num_ctr_convs=3, ctr_conv_channels=64,
                   num_params=169, num_classes=3, in_channels=TINY_CHANNELS,
                   feat_channels=TINY_CHANNELS, stacked_convs=1, strides=list(TINY_STRIDES),
                   norm_on_bbox=True, centerness_on_reg=True, conv_bias=True, norm_cfg=None),
    mask_head=dict(type='O2FCondInstMaskHead', num_layers=3, feat_channels=8,
                   size_of_interest=8, mask_out_stride=4, max_masks_to_train=300,
                   mask_feature_head=dict(in_channels=TINY_CHANNELS, feat_channels=8,
                                          start_level=0, end_level=2, out_channels=8,
                                          mask_stride=8, num_stacked_convs=1, norm_cfg=None),
                   loss_mask=dict(type='DiceLoss', use_sigmoid=True, activate=True, eps=5e-6,
                                  loss_weight=1.0)),
    train_cfg=dict(assigner=dict(type='O2FAssigner', num_ambiguous=7, alpha=0.8,
                                 center_radius=1.5, ambiguous_weight=0.4)),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, max_per_img=100, mask_thr=0.5,
                  with_nms=False, nms=dict(type='nms', iou_threshold=0.6)))


@pytest.fixture
def tiny_model_cfg():
    """A fresh ConfigDict of the tiny CondInst-o2f model, as a config file gives it."""
    from mmengine.config import ConfigDict

    return ConfigDict(copy.deepcopy(TINY_MODEL))


@pytest.fixture
def build_model():
    """``build_model(cfg) -> O2FCondInst`` with weights initialised (no download)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import o2f_seg  # noqa: F401  (registers the o2f modules)

    register_all_modules()

    def build(cfg: dict):
        model = MODELS.build(cfg)
        model.init_weights()
        if hasattr(model.bbox_head, 'set_temperature'):
            model.bbox_head.set_temperature(0.6)  # as O2FTemperatureHook does
        return model

    return build


@pytest.fixture(autouse=True)
def _mmdet_default_scope():
    """Build in mmdet's registry scope even when an earlier test (a Runner with
    ``default_scope='mmengine'``) left mmengine's scope current."""
    import mmdet.registry  # noqa: F401  (the 'mmdet' scope must exist)
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmdet'):
        yield
