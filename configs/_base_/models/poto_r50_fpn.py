# Baseline model: POTO one-to-one assignment (DeFCN) on the o2f head: Hungarian matching (scipy
# linear_sum_assignment) on p^(1-alpha) * IoU^alpha, alpha = 0.8, inside the 1.5-stride centre
# region; no NMS at test. Simplified DeFCN: no 3D max filter, no auxiliary one-to-many loss (see
# o2f_core/poto.py). The o2f head with train_cfg.assigner.type='POTOAssigner' (a config change,
# no head subclass). Backbone, neck, head layers and inference as
# models/o2f_fcos_r50_fpn.py; no T schedule. Owns: model.
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
        loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
        # DeFCN: plain GIoU on the matched points
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=False, loss_weight=2.0)),
    train_cfg=dict(
        assigner=dict(type='POTOAssigner', alpha=0.8, center_radius=1.5, ranking='multiply')),
    test_cfg=dict(
        nms_pre=1000,
        score_thr=0.05,
        max_per_img=100,
        with_nms=False,
        nms=dict(type='nms', iou_threshold=0.6)))
