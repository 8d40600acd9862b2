# CondInst-POTO, ResNet-50 + FPN (paper Table 9 "POTO"; the authors released no config for it):
# the o2f recipe of condinst_o2f_r50_fpn.py with one-to-one Hungarian matching on
# p^(1-alpha) * IoU^alpha (alpha 0.8) inside the 1.5-stride square at each mask's centre of
# mass; the mask head trains on the one matched anchor per object. Simplified DeFCN as in
# configs/det/poto_r50_1x.py: no 3D max filter, no auxiliary loss, plain GIoU (DeFCN) x2.0.
_base_ = './condinst_r50_fpn_common.py'

model = dict(
    type='O2FCondInst',
    mask_iou_matching=False,
    # the o2f box head; only the assigner (train_cfg) and the box-loss weighting differ
    bbox_head=dict(
        type='O2FCondInstBboxHead',
        centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=64),
        loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=False, loss_weight=2.0),
        mask_centres=True,
        mask_centre_half_pixel=False),
    mask_head=dict(
        type='O2FCondInstMaskHead',
        mask_weighting='uniform',
        max_masks_to_train=-1,
        loss_mask=dict(
            type='DiceLoss', use_sigmoid=True, activate=True, eps=5e-6, loss_weight=2.0),
        # auxiliary semantic segmentation loss on P3 (the authors' sem_loss_on=True)
        loss_semantic=dict(
            type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        num_classes=80,
        semantic_channels=128),
    train_cfg=dict(
        assigner=dict(type='POTOAssigner', alpha=0.8, center_radius=1.5, ranking='multiply')),
    test_cfg=dict(min_bbox_size=-1, with_nms=False, joint_score_thr=False))
