# The CondInst baseline, ResNet-50 + FPN: mmdet 3.3's CondInst (one-to-many: FCOS centre
# sampling at mask centres of mass, focal + GIoU + centerness losses, dice on every positive,
# at most 300 masks per image), box NMS at test time. Paper Table 9: 35.4 AP with NMS, 9.5
# without; tools/test.py evaluates both.
_base_ = './condinst_r50_fpn_common.py'

model = dict(
    bbox_head=dict(
        type='NMSSwitchCondInstBboxHead',
        center_sampling=True,
        center_sample_radius=1.5,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    mask_head=dict(
        type='CondInstMaskHead',
        max_masks_to_train=300,
        loss_mask=dict(
            type='DiceLoss', use_sigmoid=True, activate=True, eps=5e-6, loss_weight=1.0)),
    test_cfg=dict(min_bbox_size=0, with_nms=True))
