# FCOS-o2f, ResNet-101 + FPN, 1x (12 epochs), COCO.
_base_ = '../_base_/o2f_fcos_r50_fpn.py'

model = dict(
    backbone=dict(depth=101,
                  init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
