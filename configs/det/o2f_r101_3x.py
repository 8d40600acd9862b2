# FCOS-o2f, ResNet-101 + FPN, COCO 3x with multi-scale training (shorter side 640-800): the
# authors' configs/r101_3x_ms.py.
_base_ = [
    '../_base_/models/o2f_fcos_r50_fpn.py',
    '../_base_/datasets/coco_detection_ms.py',
    '../_base_/schedules/schedule_3x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'

model = dict(
    backbone=dict(depth=101,
                  init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
