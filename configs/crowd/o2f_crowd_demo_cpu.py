# The o2f detector of the crowd demo (`tools/demo.py --crowd`): the CrowdHuman recipe
# (`o2f_r50_crowdhuman.py`: one class, 1 certain + 3 ambiguous, per level the 5000 best scores, the
# 500 best per image, no NMS, AdamW) at CPU scale: the demo's tiny ResNet-18 (16 base channels,
# from scratch, 4 FPN levels) on 96x128 synthetic crowds. `fcos_crowd_demo_cpu.py` and
# `poto_crowd_demo_cpu.py` differ only in the head's training.
#
#   python tools/demo.py --crowd
_base_ = [
    '../_base_/models/o2f_fcos_r50_fpn.py',
    '../_base_/datasets/crowd_demo.py',
    '../_base_/schedules/crowd_demo_cpu.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['o2f_det', 'o2f_crowd.datasets', 'o2f_crowd.metrics'], allow_failed_imports=False)
o2f_task = 'crowd'

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
        num_classes=1,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        strides=[8, 16, 32, 64],
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        centerness_branch=dict(channels=32)),
    train_cfg=dict(assigner=dict(num_ambiguous=3)),
    test_cfg=dict(nms_pre=5000, max_per_img=500))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=24, max_keep_ckpts=1))
randomness = dict(seed=0)
