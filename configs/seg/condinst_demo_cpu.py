# The CondInst baseline of the CPU demo (one-to-many labels, needs NMS at test time), on the
# demo's synthetic shapes with instance masks; `condinst_o2f_demo_cpu.py` is the o2f model on
# the same architecture, data, schedule and seed.
#
#   python tools/make_synthetic.py --out work_dirs/demo/data --size 160 160
#   python tools/train.py seg configs/seg/condinst_demo_cpu.py
#   python tools/test.py seg configs/seg/condinst_demo_cpu.py \
#       work_dirs/condinst_demo_cpu/epoch_12.pth        # mask + box AP, without and with NMS
_base_ = [
    '../_base_/models/condinst_r18_demo_common.py',
    '../_base_/datasets/coco_instance_shapes_demo.py',
    '../_base_/schedules/condinst_adamw_demo.py',
    'mmdet::_base_/default_runtime.py',
]
o2f_task = 'seg'  # checked by tools/train.py and tools/test.py
custom_imports = dict(imports=['o2f_det', 'o2f_seg'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(
        type='NMSSwitchCondInstBboxHead',
        regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 1e8)),
        # CondInst's recipe: centre sampling (at mask centres of mass), GIoU
        center_sampling=True,
        center_sample_radius=1.5,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    mask_head=dict(type='CondInstMaskHead'),
    test_cfg=dict(with_nms=True))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=12, max_keep_ckpts=1))
randomness = dict(seed=0)
