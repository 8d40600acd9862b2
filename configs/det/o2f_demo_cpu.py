# The o2f detector of the CPU demo (`make demo`): `fcos_demo_cpu.py` plus the o2f diff (head,
# assigner, T schedule, NMS-free inference). Same backbone, neck, data, schedule and seed.
#
#   python tools/train.py det configs/det/o2f_demo_cpu.py
_base_ = ['./fcos_demo_cpu.py']

model = dict(
    bbox_head=dict(
        _delete_=True,  # the FCOS head's regress ranges, centre sampling and losses do not apply
        type='O2FHead',
        num_classes=3,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        strides=[8, 16, 32, 64],
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        norm_on_bbox=True,
        centerness_on_reg=True,
        conv_bias=True,
        # The paper's centerness branch (3 convs) at the demo's width.
        centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=32),
        loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=True, loss_weight=2.0)),
    # The paper's rule (1 certain + 7 ambiguous, alpha 0.8, radius 1.5) with the official
    # ambiguous weight 0.4 and GIoU weight 2.0.
    # (1 + 3 ambiguous, the official CrowdHuman K, measured 1 AP worse here without NMS.)
    train_cfg=dict(
        assigner=dict(type='O2FAssigner', num_ambiguous=7, alpha=0.8, center_radius=1.5,
                      ambiguous_weight=0.4, ranking='multiply')),
    test_cfg=dict(with_nms=False))

# T from 0.6 (first epoch) to 0.2 (last epoch), whatever train_cfg.max_epochs is.
custom_hooks = [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2, by_epoch=True)]
