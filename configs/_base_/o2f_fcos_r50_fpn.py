# FCOS-o2f, ResNet-50 + FPN, COCO 1x: the single model base of every configs/det/ config.
# Paper Sec. 4.1: SGD lr 0.01, momentum 0.9, wd 1e-4, batch 16 (8 GPUs x 2 images), 12 epochs,
# lr x0.1 at epochs 8 and 11, shorter side 800. ImageNet-initialised backbone, frozen BN.
#
# Assignment preset. Default: the OFFICIAL code's recipe (it produced the published numbers):
# top-7 *including* the certain positive (num_ambiguous=6), ambiguous weight 0.4, GIoU weight 2.0,
# centerness-weighted GIoU. The PAPER's text instead says 1 certain + 7 ambiguous, no weight; one
# line in a leaf config switches to it:
#   model = dict(train_cfg=dict(assigner=dict(num_ambiguous=7, ambiguous_weight=1.0)))
# T comes only from the O2FTemperatureHook below (the head has no T of its own).
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['o2f_det'], allow_failed_imports=False)
o2f_task = 'det'  # checked by tools/train.py and tools/test.py

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
        norm_cfg=dict(type='BN', requires_grad=False),
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
        # + centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=64) (default)
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
        # soft focal loss on the joint probability p = sigmoid(cls) * sigmoid(ctr)
        loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
        # GIoU on every labelled point, each weighted by its target's centerness
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=True, loss_weight=2.0)),
    # The o2f assignment (mmdet TASK_UTILS; see the preset note at the top).
    train_cfg=dict(
        assigner=dict(type='O2FAssigner', num_ambiguous=6, alpha=0.8, center_radius=1.5,
                      ambiguous_weight=0.4, ranking='multiply')),
    # No NMS: per level the 1000 best joint scores above 0.05, then the 100 best per image.
    # with_nms=True applies the NMS below instead (tools/test.py evaluates both).
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        max_per_img=100,
        with_nms=False,
        nms=dict(type='nms', iou_threshold=0.6)))

# T (largest soft target of an ambiguous anchor) goes linearly from 0.6 (first epoch) to 0.2
# (last epoch); the hook sets it on the head before every epoch (resume-safe).
custom_hooks = [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2, by_epoch=True)]

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=35, norm_type=2))

# AR@100 next to the AP columns (the paper's Table 5 reports AP and recall).
val_evaluator = dict(
    metric_items=['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@100'])
test_evaluator = val_evaluator
