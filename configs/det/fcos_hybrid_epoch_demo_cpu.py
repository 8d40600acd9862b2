# Hybrid-Epoch of the CPU demo: FCOS labels, then POTO labels, shrunk exactly like
# `poto_demo_cpu.py` on the same data, schedule and seed.
#
#   python tools/train.py det configs/det/fcos_hybrid_epoch_demo_cpu.py
_base_ = [
    '../_base_/models/fcos_hybrid_epoch_r50_fpn.py',
    '../_base_/datasets/shapes_demo.py',
    '../_base_/schedules/demo_cpu_24e.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'

model = dict(
    backbone=dict(
        depth=18,
        base_channels=16,
        stem_channels=16,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128], out_channels=64, start_level=0, num_outs=4),
    bbox_head=dict(
        num_classes=3,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        strides=[8, 16, 32, 64],
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        centerness_branch=dict(channels=32)),
    # FCOS's demo regress ranges (fcos_demo_cpu.py); one-to-one from epoch 16 of 24 (2/3, as 8/12)
    train_cfg=dict(
        o2m_assigner=dict(regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 1e8))),
        switch_epoch=16))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=24, max_keep_ckpts=1))
randomness = dict(seed=0)
