# Baseline model: DeFCN's POTO + 3DMF (github Megvii-BaseDetection/DeFCN,
# poto.res50.fpn.coco.800size.3x_ms.3dmf): the POTO model of poto_r50_fpn.py whose centerness
# branch is DeFCN's 3D max filter (O2FMaxFilter3D: conv, max over a 3x3 window and the adjacent FPN
# level on each side, residual, GN, ReLU, 3x3 conv to one logit) on the regression tower; its
# sigmoid gates the class score, p = sigmoid(cls) * sigmoid(filter), for matching, loss and
# inference, as in DeFCN. Matching as DeFCN: quality p^0.2 * IoU^0.8 inside the 1.5-stride centre
# region, Hungarian assignment per image (scipy linear_sum_assignment).
# Where our POTO differs from DeFCN's: (1) an object without any point in its centre region gets
# no positive (DeFCN's Hungarian still hands it some point of quality -1); (2) the class loss is
# o2f's (positives plain BCE weight 1, negatives 0.75 * p^2 * BCE) where DeFCN uses focal loss
# alpha 0.25 on both (positives 0.25 * (1 - p)^2 * BCE). Box loss as DeFCN: plain GIoU x2 over
# the matched points.
# Owns: model.
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
        # DeFCN's filter branch (FILTER_KERNEL_SIZE 3, FILTER_TAU 2), GN from norm_cfg
        centerness_branch=dict(type='O2FMaxFilter3D', kernel_size=3, tau=2),
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
