# Baseline: CondInst trained one-to-one with POTO (DeFCN; paper Table 9 "POTO", 32.8 AP 1x, no
# NMS): Hungarian matching on p^(1-alpha) * IoU^alpha, alpha = 0.8, inside the 1.5-stride square
# around each mask's centre of mass; the mask head trains on the one matched anchor per object.
# Simplified DeFCN as in configs/det/poto_r50_1x.py (no 3D max filter, no auxiliary loss).
_base_ = './_base_/condinst_o2f_r50_fpn.py'

model = dict(
    # The o2f box head; only the assigner and the box-loss weighting change.
    bbox_head=dict(
        type='O2FCondInstBboxHead',
        loss_bbox=dict(centerness_weighting=False)),  # DeFCN: plain GIoU on the matched points
    train_cfg=dict(
        assigner=dict(_delete_=True,  # POTO takes none of the o2f-only keys
                      type='POTOAssigner', alpha=0.8, center_radius=1.5, ranking='multiply')))

custom_hooks = []  # no temperature schedule
