# The o2f detector of the CPU demo (`make demo`): `fcos_demo_cpu.py` plus the o2f diff (head,
# assigner, T schedule, NMS-free inference). Same backbone, neck, data, schedule and seed.
#
#   python tools/train.py det configs/det/o2f_demo_cpu.py
_base_ = ['./fcos_demo_cpu.py']

model = dict(
    bbox_head=dict(
        type='O2FHead',
        # The paper's centerness branch (3 convs) at the demo's width.
        num_ctr_convs=3,
        ctr_conv_channels=32,
        temperature=0.6),
    # The paper's rule (1 certain + 7 ambiguous, alpha 0.8, radius 1.5) with the official
    # ambiguous weight 0.4 and GIoU weight 2.0 (FCOS's regress ranges are not used by o2f).
    # (1 + 3 ambiguous, the official CrowdHuman K, measured 1 AP worse here without NMS.)
    train_cfg=dict(
        assigner=dict(num_ambiguous=7, alpha=0.8, center_radius=1.5, ambiguous_weight=0.4),
        loss_bbox_weight=2.0),
    test_cfg=dict(with_nms=False))

# T from 0.6 (first epoch) to 0.2 (last epoch), whatever train_cfg.max_epochs is.
custom_hooks = [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2, by_epoch=True)]
