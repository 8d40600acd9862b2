# Baseline model: DeFCN's POTO + 3DMF + Aux (github Megvii-BaseDetection/DeFCN,
# poto.res50.fpn.coco.800size.3x_ms.3dmf.aux): poto_3dmf_r50_fpn.py plus DeFCN's auxiliary
# one-to-many loss on the ungated class score sigmoid(cls) (O2FAuxLossHead: loss_cls_aux, focal
# alpha 0.25, gamma 2, weight 1, normalised by the auxiliary positives). Its labels come from
# model.train_cfg.aux_assigner (mmdet TASK_UTILS), the switch of paper Table 5:
#   QualityATSSAssigner (default, DeFCN's AUX_TOPK 9 and alpha 0.8: per level the 9 points of best
#     quality p^0.2 * IoU^0.8, positives inside the box at >= mean + std of those candidates),
#   QualityTopkAssigner (the topk=9 points of best quality inside the box),
#   FCOSAssigner (FCOS: centre region 1.5 strides and the level's regress range).
# e.g. --cfg-options model.train_cfg.aux_assigner.type=QualityTopkAssigner (the default entry has
# only a type, so a type switch takes the new assigner's defaults).
# The one-to-one part and where it differs from DeFCN: see poto_3dmf_r50_fpn.py. Owns: model.
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
        type='O2FAuxLossHead',
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
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=False, loss_weight=2.0),
        loss_aux=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(type='POTOAssigner', alpha=0.8, center_radius=1.5, ranking='multiply'),
        aux_assigner=dict(type='QualityATSSAssigner')),
    test_cfg=dict(
        nms_pre=1000,
        score_thr=0.05,
        max_per_img=100,
        with_nms=False,
        nms=dict(type='nms', iou_threshold=0.6)))
