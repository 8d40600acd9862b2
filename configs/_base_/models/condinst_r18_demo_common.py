# The CondInst architecture of the CPU demo, shared by condinst_demo_cpu.py (one-to-many) and
# condinst_o2f_demo_cpu.py (o2f): a ResNet-18 at 1/4 width trained from scratch, four FPN levels
# (strides 8-64), 160x160 images of three classes; the same backbone as configs/det/*_demo_cpu.py.
# Each method's heads, losses and train_cfg are set in its config.

model = dict(
    type='CondInst',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_mask=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=16,  # stage widths 16/32/64/128: small enough for 2 CPU cores
        stem_channels=16,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),  # from scratch: no download
    neck=dict(
        type='FPN',
        in_channels=[32, 64, 128],
        out_channels=64,
        start_level=0,
        add_extra_convs='on_output',
        num_outs=4,
        relu_before_extra_convs=True),
    bbox_head=dict(
        num_params=169,  # dynamic mask head below: (8 + 2) * 8 + 8 + 8 * 8 + 8 + 8 + 1
        num_classes=3,  # disk, triangle, l_shape
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        strides=[8, 16, 32, 64],
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        norm_on_bbox=True,
        centerness_on_reg=True,
        conv_bias=True),
    mask_head=dict(
        num_layers=3,
        feat_channels=8,
        size_of_interest=8,
        mask_out_stride=4,
        max_masks_to_train=100,
        mask_feature_head=dict(
            in_channels=64,
            feat_channels=32,
            start_level=0,
            end_level=2,
            out_channels=8,
            mask_stride=8,
            num_stacked_convs=2,
            norm_cfg=dict(type='BN', requires_grad=True)),
        loss_mask=dict(
            type='DiceLoss', use_sigmoid=True, activate=True, eps=5e-6, loss_weight=1.0)),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        max_per_img=100,
        mask_thr=0.5,
        nms=dict(type='nms', iou_threshold=0.6)))
