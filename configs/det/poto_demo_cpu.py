# The POTO baseline of the CPU demo (`python tools/demo.py --poto`): DeFCN's one-to-one
# (Hungarian) assignment on the o2f head, NMS-free. `fcos_demo_cpu.py` plus the POTO diff; the
# head is shaped exactly like `o2f_demo_cpu.py`'s, so only the assignment differs from o2f.
#
#   python tools/train.py det configs/det/poto_demo_cpu.py
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
        centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=32),
        loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
        # DeFCN: plain GIoU on the matched points
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=False, loss_weight=2.0)),
    train_cfg=dict(
        assigner=dict(type='POTOAssigner', alpha=0.8, center_radius=1.5, ranking='multiply')),
    test_cfg=dict(with_nms=False))
