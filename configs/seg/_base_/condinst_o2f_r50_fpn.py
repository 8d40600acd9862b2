# CondInst-o2f, ResNet-50 + FPN, COCO instances 1x: the model base of every configs/seg/ config.
# Architecture = mmdet 3.3's CondInst (condinst_r50_fpn_ms-poly-90k_coco_instance.py); training =
# paper Sec. 4.1 (SGD lr 0.01, momentum 0.9, wd 1e-4, batch 16, 12 epochs, lr x0.1 at 8 and 11,
# shorter side 800), the schedule of the paper's Table 9 "1x" rows.
#
# o2f on CondInst (packages/o2f-seg):
# - box head O2FCondInstBboxHead: the det head's o2f recipe (joint score, 3 extra 64-channel
#   centerness convs, soft targets, T schedule) with each object's candidate square centred at
#   the centre of mass of its mask (mask_centres=True, default);
# - assignment preset: the official code's (top-7 incl. the certain positive, ambiguous weight
#   0.4, GIoU weight 2.0), as in configs/_base_/o2f_fcos_r50_fpn.py; the paper's text instead:
#     model = dict(train_cfg=dict(assigner=dict(num_ambiguous=7, ambiguous_weight=1.0)))
# - mask head O2FCondInstMaskHead: dice loss on the certain and ambiguous anchors, each weighted by
#   its soft target (mask_weighting='soft_target', default), at most 300 masks per image;
# - O2FCondInst(mask_iou_matching=True) ranks candidates with the mask IoU of their predicted
#   masks instead of the box IoU (off by default, as in the paper);
# - inference: top-100 by joint score, masks from their dynamic filters, no NMS (with_nms=True
#   applies box NMS instead; tools/test.py evaluates both).
_base_ = [
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['o2f_det', 'o2f_seg'], allow_failed_imports=False)
o2f_task = 'seg'  # checked by tools/train.py and tools/test.py

model = dict(
    type='O2FCondInst',
    mask_iou_matching=False,
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_mask=True,
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
        # + centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=64)
        # (default), candidate squares at mask centres (mask_centres=True)
        type='O2FCondInstBboxHead',
        num_params=169,
        num_classes=80,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        strides=[8, 16, 32, 64, 128],
        norm_on_bbox=True,
        centerness_on_reg=True,
        dcn_on_last_conv=False,
        conv_bias=True,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=True, loss_weight=2.0)),
    mask_head=dict(
        # dice weights: 1 for the certain anchor, its soft target t for an ambiguous one
        # (mask_weighting='soft_target' default)
        type='O2FCondInstMaskHead',
        num_layers=3,
        feat_channels=8,
        size_of_interest=8,
        mask_out_stride=4,
        max_masks_to_train=300,
        mask_feature_head=dict(
            in_channels=256,
            feat_channels=128,
            start_level=0,
            end_level=2,
            out_channels=8,
            mask_stride=8,
            num_stacked_convs=4,
            norm_cfg=dict(type='BN', requires_grad=True)),
        loss_mask=dict(
            type='DiceLoss', use_sigmoid=True, activate=True, eps=5e-6, loss_weight=1.0)),
    # The o2f assignment (mmdet TASK_UTILS; see the preset note at the top).
    train_cfg=dict(
        assigner=dict(type='O2FAssigner', num_ambiguous=6, alpha=0.8, center_radius=1.5,
                      ambiguous_weight=0.4, ranking='multiply')),
    # No NMS: per level the 1000 best joint scores above 0.05, then the 100 best per image, and
    # their masks. with_nms=True applies the box NMS below instead.
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        max_per_img=100,
        mask_thr=0.5,
        with_nms=False,
        nms=dict(type='nms', iou_threshold=0.6)))

# T (largest soft target of an ambiguous anchor) goes linearly from 0.6 (first epoch) to 0.2
# (last epoch); the hook sets it on the box head before every epoch (resume-safe).
custom_hooks = [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2, by_epoch=True)]

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=35, norm_type=2))

val_evaluator = dict(
    metric=['bbox', 'segm'],
    metric_items=['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@100'])
test_evaluator = val_evaluator
