# FCOS-o2f, ResNet-101 + FPN, COCO 1x: the authors' configs/r101_1x.py.
_base_ = [
    '../_base_/models/o2f_fcos_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'

model = dict(
    backbone=dict(depth=101,
                  init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
