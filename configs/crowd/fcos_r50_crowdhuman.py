# Baseline: mmdet FCOS (one-to-many labels, centre sampling, GIoU, centerness) with NMS (IoU 0.6,
# then the 500 best per image), R50 + FPN, on the CrowdHuman data, schedule and evaluation of
# `o2f_r50_crowdhuman.py` (paper Table 8, FCOS: AP 86.1, mMR 55.2, Recall 94.3).
# mmdet's FCOS loss does not use ignore regions: their points train as negatives.
#
#   python tools/train.py crowd configs/crowd/fcos_r50_crowdhuman.py
_base_ = './o2f_r50_crowdhuman.py'

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
