# POTO + 3DMF of the CPU demo: DeFCN's 3D max filter on the POTO model, shrunk exactly like
# `poto_demo_cpu.py` (the filter branch runs at the head's 64 channels with its GN 16).
#
#   python tools/train.py det configs/det/poto_3dmf_demo_cpu.py
_base_ = [
    '../_base_/models/poto_3dmf_r50_fpn.py',
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
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=24, max_keep_ckpts=1))
randomness = dict(seed=0)
