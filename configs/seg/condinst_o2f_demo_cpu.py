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
        type='O2FCondInstBboxHead',
        num_ctr_convs=3,
        ctr_conv_channels=32,  # the paper's 64 at the demo's width
        temperature=0.6,
        mask_centres=True),  # (FCOS regress ranges, centre sampling and losses are unused)
    mask_head=dict(type='O2FCondInstMaskHead', mask_weighting='soft_target'),
    # the paper's rule (1 certain + 7 ambiguous) with the official ambiguous weight 0.4 and GIoU
    # weight 2.0, as in configs/det/o2f_demo_cpu.py
    train_cfg=dict(
        assigner=dict(num_ambiguous=7, alpha=0.8, center_radius=1.5, ambiguous_weight=0.4),
        centerness_weighting=True,
        loss_cls_weight=1.0,
        loss_bbox_weight=2.0),
    test_cfg=dict(with_nms=False))

# T from 0.6 (first epoch) to 0.2 (last epoch), whatever train_cfg.max_epochs is.
custom_hooks = [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2, by_epoch=True)]
