# FCOS-o2f, ResNet-50 + FPN, 1x (12 epochs), COCO. Everything lives in the base.
_base_ = '../_base_/o2f_fcos_r50_fpn.py'
