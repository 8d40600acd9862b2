# CondInst-o2f on the CPU demo: `condinst_demo_cpu.py` plus the o2f diff (box and mask heads,
# assigner, T schedule, NMS-free inference). Same backbone, neck, data, schedule and seed.
#
#   python tools/make_synthetic.py --out work_dirs/demo/data --size 160 160
#   python tools/train.py seg configs/seg/condinst_o2f_demo_cpu.py
#   python tools/test.py seg configs/seg/condinst_o2f_demo_cpu.py \
#       work_dirs/condinst_o2f_demo_cpu/epoch_12.pth    # mask + box AP, without and with NMS
_base_ = ['./condinst_demo_cpu.py']

model = dict(
    mask_iou_matching=False,
    bbox_head=dict(
        _delete_=True,  # CondInst's regress ranges, centre sampling and losses do not apply
        type='O2FCondInstBboxHead',
        num_params=169,
        num_classes=3,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        strides=[8, 16, 32, 64],
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        norm_on_bbox=True,
        centerness_on_reg=True,
        conv_bias=True,
        # the paper's 3 convs, at 32 channels (the paper's 64 at the demo's width)
        centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=32),
        loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=True, loss_weight=2.0),
        mask_centres=True),
    mask_head=dict(type='O2FCondInstMaskHead', mask_weighting='soft_target'),
    # the paper's rule (1 certain + 7 ambiguous) with the official ambiguous weight 0.4 and GIoU
    # weight 2.0, as in configs/det/o2f_demo_cpu.py
    train_cfg=dict(
        assigner=dict(type='O2FAssigner', num_ambiguous=7, alpha=0.8, center_radius=1.5,
                      ambiguous_weight=0.4, ranking='multiply')),
    test_cfg=dict(with_nms=False))

# T from 0.6 (first epoch) to 0.2 (last epoch), whatever train_cfg.max_epochs is.
custom_hooks = [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2, by_epoch=True)]
