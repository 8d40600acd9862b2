# FCOS-o2f, ResNet-50 + FPN: the model of the authors' configs/r50_1x.py (github strongwolf/o2f),
# in mmdet 3 terms. Owns: model, custom_hooks (the T schedule is part of the o2f model).
#
# Backbone: ImageNet init, stem + stage 1 frozen, BN statistics frozen (norm_eval=True) but BN
# affine weights trained (requires_grad=True), as the authors'.
# Head and assignment, the authors' O2FHead: top-7 *including* the certain positive
# (num_ambiguous=6), alpha 0.8, candidate square 1.5 strides, ambiguous weight 0.4, GIoU weight 2.0
# with centerness weighting, 3 extra 64-channel convs before centerness. T: only the hook below.
# The PAPER's text instead says 1 certain + 7 ambiguous, no weight; one line in a leaf switches:
#   model = dict(train_cfg=dict(assigner=dict(num_ambiguous=7, ambiguous_weight=1.0)))
model = dict(
    type='FCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_output',
        num_outs=5,
        relu_before_extra_convs=True),
    bbox_head=dict(
        type='O2FHead',
        num_classes=80,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        strides=[8, 16, 32, 64, 128],
        norm_on_bbox=True,
        centerness_on_reg=True,
        conv_bias=True,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=64),
        # soft focal loss on the joint probability p = sigmoid(cls) * sigmoid(ctr)
        loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
        # GIoU on every labelled point, each weighted by its target's centerness
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=True, loss_weight=2.0)),
    # the o2f assignment (mmdet TASK_UTILS)
    train_cfg=dict(
        assigner=dict(type='O2FAssigner', num_ambiguous=6, alpha=0.8, center_radius=1.5,
                      ambiguous_weight=0.4, ranking='multiply')),
    # No NMS: per level the 1000 best joint scores above 0.05, then the 100 best per image.
    # with_nms=True applies the NMS below instead (tools/test.py evaluates both). No
    # min_bbox_size: the authors' config sets 0 but their post-process never reads it (mmdet 3's
    # would drop zero-size boxes).
    test_cfg=dict(
        nms_pre=1000,
        score_thr=0.05,
        max_per_img=100,
        with_nms=False,
        nms=dict(type='nms', iou_threshold=0.6)))

# T (largest soft target of an ambiguous anchor) goes linearly from 0.6 (first epoch) to 0.2
# (last epoch, whatever train_cfg.max_epochs is); set on the head before every epoch (resume-safe).
custom_hooks = [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2, by_epoch=True)]
