# Baseline: POTO one-to-one assignment (DeFCN): Hungarian matching (scipy linear_sum_assignment)
# on p^(1-alpha) * IoU^alpha, alpha = 0.8, inside the 1.5-stride centre region; no NMS at test.
# Simplified DeFCN: no 3D max filter, no auxiliary one-to-many loss (see o2f_det/models/poto.py).
_base_ = '../_base_/o2f_fcos_r50_fpn.py'

model = dict(
    bbox_head=dict(type='POTOHead'),
    train_cfg=dict(
        _delete_=True,  # POTO takes none of the o2f assigner keys
        assigner=dict(alpha=0.8, center_radius=1.5),
        centerness_weighting=False,  # DeFCN: plain GIoU on the matched points
        loss_cls_weight=1.0,
        loss_bbox_weight=2.0))

custom_hooks = []  # no temperature schedule
