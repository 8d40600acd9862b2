# CondInst-o2f on the CPU demo: the architecture, data, schedule and seed of
# `condinst_demo_cpu.py` with the o2f box and mask heads, assigner, T schedule and NMS-free
# inference. Demo settings, not the authors' recipe: the paper's rule (1 certain + 7 ambiguous)
# with the official ambiguous weight 0.4, GIoU weight 2.0 and soft-target dice weights, as in
# configs/det/o2f_demo_cpu.py.
#
#   python tools/make_synthetic.py --out work_dirs/demo/data --size 160 160
#   python tools/train.py seg configs/seg/condinst_o2f_demo_cpu.py
#   python tools/test.py seg configs/seg/condinst_o2f_demo_cpu.py \
#       work_dirs/condinst_o2f_demo_cpu/epoch_12.pth    # mask + box AP, without and with NMS
_base_ = [
    '../_base_/models/condinst_r18_demo_common.py',
    '../_base_/datasets/coco_instance_shapes_demo.py',
    '../_base_/schedules/condinst_adamw_demo.py',
    'mmdet::_base_/default_runtime.py',
]
o2f_task = 'seg'  # checked by tools/train.py and tools/test.py
custom_imports = dict(imports=['o2f_det', 'o2f_seg'], allow_failed_imports=False)

model = dict(
    type='O2FCondInst',
    mask_iou_matching=False,
    bbox_head=dict(
        type='O2FCondInstBboxHead',
        # the paper's 3 convs, at 32 channels (the paper's 64 at the demo's width)
        centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=32),
        loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=True, loss_weight=2.0),
        mask_centres=True),
    mask_head=dict(type='O2FCondInstMaskHead', mask_weighting='soft_target'),
    train_cfg=dict(
        assigner=dict(type='O2FAssigner', num_ambiguous=7, alpha=0.8, center_radius=1.5,
                      ambiguous_weight=0.4, ranking='multiply')),
    test_cfg=dict(with_nms=False))

# T from 0.6 (first epoch) to 0.2 (last epoch), whatever train_cfg.max_epochs is.
custom_hooks = [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2, by_epoch=True)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=12, max_keep_ckpts=1))
randomness = dict(seed=0)
