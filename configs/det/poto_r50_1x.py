# Baseline: POTO one-to-one assignment (DeFCN): Hungarian matching (scipy linear_sum_assignment)
# on p^(1-alpha) * IoU^alpha, alpha = 0.8, inside the 1.5-stride centre region; no NMS at test.
# Simplified DeFCN: no 3D max filter, no auxiliary one-to-many loss (see o2f_det/models/poto.py).
_base_ = '../_base_/o2f_fcos_r50_fpn.py'

model = dict(
    # The o2f head; only the assigner and the box-loss weighting change.
    bbox_head=dict(
        type='O2FHead',
        loss_bbox=dict(centerness_weighting=False)),  # DeFCN: plain GIoU on the matched points
    train_cfg=dict(
        assigner=dict(_delete_=True,  # POTO takes none of the o2f-only keys
                      type='POTOAssigner', alpha=0.8, center_radius=1.5, ranking='multiply')))

custom_hooks = []  # no temperature schedule: a one-to-one target is always 1
