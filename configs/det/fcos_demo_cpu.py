# The FCOS baseline of the CPU demo (`make demo`): one-to-many labels, needs NMS at test time.
# A ResNet-18 at 1/4 width (16 base channels), trained from scratch on the synthetic shapes
# (`tools/make_synthetic.py --out work_dirs/demo/data --size 160 160`), 160x160 images, four
# FPN levels (strides 8-64). `o2f_demo_cpu.py` and `poto_demo_cpu.py` shrink their models the
# same way on the same data, schedule and seed, so the three differ only in head training.
#
#   python tools/train.py det configs/det/fcos_demo_cpu.py
_base_ = [
    '../_base_/models/fcos_r50_fpn.py',
    '../_base_/datasets/shapes_demo.py',
    '../_base_/schedules/demo_cpu_24e.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'

# Tiny CPU model: same layer types as the R50 recipe, small enough for 2 CPU cores.
model = dict(
    backbone=dict(
        depth=18,
        base_channels=16,  # stage widths 16/32/64/128
        stem_channels=16,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),  # from scratch: no download
    neck=dict(in_channels=[32, 64, 128], out_channels=64, start_level=0, num_outs=4),
    bbox_head=dict(
        num_classes=3,  # the demo's classes
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        strides=[8, 16, 32, 64],
        regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 1e8)),
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=24, max_keep_ckpts=1))
randomness = dict(seed=0)
