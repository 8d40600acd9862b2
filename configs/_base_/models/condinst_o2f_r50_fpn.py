# CondInst-o2f, ResNet-50 + FPN: every head, loss and train_cfg setting of the o2f recipe, equal
# to the authors' configs/condinst_r50_1x.py and the code it runs (condinst_head.py, github
# strongwolf/o2f). Architecture: condinst_r50_fpn_common.py.
#
# Our deliberate deviations are switches, all off here (README, "Instance segmentation"):
#   bbox_head.mask_centre_half_pixel   mask centres of mass at pixel index + 0.5
#   mask_head.mask_weighting           'soft_target' / 'assign_weight' dice weights
#   test_cfg.joint_score_thr           score_thr and nms_pre on the joint score
#   model.mask_iou_matching            rank candidates with the predicted masks' IoU
# The paper's text instead of the authors' code (1 certain + 7 ambiguous, weight 1.0):
#   model = dict(train_cfg=dict(assigner=dict(num_ambiguous=7, ambiguous_weight=1.0)))
_base_ = './condinst_r50_fpn_common.py'

model = dict(
    type='O2FCondInst',
    mask_iou_matching=False,
    bbox_head=dict(
        # joint score p = sigmoid(cls) * sigmoid(ctr); 3 extra 64-channel convs (GN) before
        # the centerness output; candidate squares (1.5 strides) at mask centres of mass
        type='O2FCondInstBboxHead',
        centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=64),
        # soft focal loss (negatives x0.75, gamma 2) x1.0 on the joint probability
        loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
        # GIoU weighted by the target's centerness x1.0
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=True, loss_weight=1.0),
        mask_centres=True,
        mask_centre_half_pixel=False),
    mask_head=dict(
        # dice on every labelled anchor (certain and ambiguous), plain mean, x2, no cap
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
    # o2f_topk=7 (1 certain + 6 ambiguous), soft weight 0.4, alpha 0.8, radius 1.5, p^0.2*IoU^0.8
    train_cfg=dict(
        assigner=dict(type='O2FAssigner', num_ambiguous=6, alpha=0.8, center_radius=1.5,
                      ambiguous_weight=0.4, ranking='multiply')),
    # no NMS; score_thr on sigmoid(cls) of the nms_pre points with the best joint score; no
    # box is dropped for its size (the authors' config says min_bbox_size=0, their code
    # never reads it)
    test_cfg=dict(min_bbox_size=-1, with_nms=False, joint_score_thr=False))

# T (soft target of the best ambiguous anchor) from 0.6 (first epoch) to 0.2 (last epoch),
# set on the box head before every epoch (the authors' HeadHook + max_epoch); the only source of T.
custom_hooks = [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2, by_epoch=True)]
