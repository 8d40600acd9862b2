# Baseline model: Hybrid-Epoch (H-DETR's hybrid epoch scheme applied to FCOS, paper Sec. 4.3):
# the FCOS-layout o2f head of poto_r50_fpn.py (joint score sigmoid(cls) * sigmoid(ctr), o2f's
# class loss, plain GIoU x2) trained with one-to-many labels (FCOSAssigner: FCOS's centre region
# 1.5 strides and regress ranges) in epochs 0 .. switch_epoch - 1 and one-to-one labels
# (POTOAssigner, Hungarian) from switch_epoch on: static loss weights (o2o, o2m) = (0, 1) then
# (1, 0) (O2FHybridEpochHead; loss_*_o2m / loss_*_o2o). The epoch reaches the head through
# O2FTrainEpochHook. E by name: --cfg-options model.train_cfg.switch_epoch=E. E = 8 of 12 (our
# choice: the one-to-one phase starts at the first lr step; the paper does not state E). No NMS
# at test. Owns: model, custom_hooks.
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
        type='O2FHybridEpochHead',
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
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=False, loss_weight=2.0)),
    train_cfg=dict(
        assigner=dict(type='POTOAssigner', alpha=0.8, center_radius=1.5, ranking='multiply'),
        o2m_assigner=dict(
            type='FCOSAssigner',
            center_radius=1.5,
            regress_ranges=((-1, 64), (64, 128), (128, 256), (256, 512), (512, 1e8))),
        switch_epoch=8),
    test_cfg=dict(
        nms_pre=1000,
        score_thr=0.05,
        max_per_img=100,
        with_nms=False,
        nms=dict(type='nms', iou_threshold=0.6)))

# Tells the head the epoch before every epoch (stateless: a resumed run switches at the same E).
custom_hooks = [dict(type='O2FTrainEpochHook')]
