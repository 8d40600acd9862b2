# The POTO baseline of the CPU demo (`python tools/demo.py --poto`): DeFCN's one-to-one
# (Hungarian) assignment on the o2f head, NMS-free. `fcos_demo_cpu.py` plus the POTO diff; the
# head is shaped exactly like `o2f_demo_cpu.py`'s, so only the assignment differs from o2f.
#
#   python tools/train.py det configs/det/poto_demo_cpu.py
_base_ = ['./fcos_demo_cpu.py']

model = dict(
    bbox_head=dict(type='POTOHead', num_ctr_convs=3, ctr_conv_channels=32),
    train_cfg=dict(
        assigner=dict(alpha=0.8, center_radius=1.5),
        centerness_weighting=False,  # DeFCN: plain GIoU on the matched points
        loss_bbox_weight=2.0),
    test_cfg=dict(with_nms=False))
