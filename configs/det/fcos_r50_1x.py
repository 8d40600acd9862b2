# Baseline: mmdet FCOS (one-to-many, with mmdet's centre sampling / GIoU / norm-on-bbox tricks),
# R50 + FPN, 1x, on the same data pipeline and schedule as FCOS-o2f. Evaluated with NMS (its
# default here) and without: tools/test.py runs both.
_base_ = '../_base_/o2f_fcos_r50_fpn.py'

model = dict(
    bbox_head=dict(
        type='NMSSwitchFCOSHead',
        center_sampling=True,
        center_sample_radius=1.5,
        # (_delete_: the o2f losses of the base take other arguments)
        loss_cls=dict(_delete_=True, type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=None,  # FCOS has its own fixed assignment (regress ranges + centre sampling)
    test_cfg=dict(with_nms=True))

custom_hooks = []  # no temperature schedule
