# Baseline: CondInst trained one-to-one with POTO (DeFCN; paper Table 9 "POTO", 32.8 AP 1x, no
# NMS): Hungarian matching on p^(1-alpha) * IoU^alpha, alpha = 0.8, inside the 1.5-stride square
# around each mask's centre of mass; the mask head trains on the one matched anchor per object.
# Simplified DeFCN as in configs/det/poto_r50_1x.py (no 3D max filter, no auxiliary loss).
_base_ = './_base_/condinst_o2f_r50_fpn.py'

model = dict(
    bbox_head=dict(type='POTOCondInstBboxHead'),
    train_cfg=dict(
        _delete_=True,  # POTO takes none of the o2f assigner keys
        assigner=dict(alpha=0.8, center_radius=1.5),
        centerness_weighting=False,  # DeFCN: plain GIoU on the matched points
        loss_cls_weight=1.0,
        loss_bbox_weight=2.0))

custom_hooks = []  # no temperature schedule
