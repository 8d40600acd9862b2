# CondInst-o2f, ResNet-50 + FPN, 1x (12 epochs), COCO instances (paper Table 9, "Ours 1x").
# Everything lives in the base.
#
#   python tools/train.py seg configs/seg/condinst_o2f_1x.py
#   python tools/test.py seg configs/seg/condinst_o2f_1x.py CHECKPOINT   # mask + box AP, +-NMS
_base_ = './_base_/condinst_o2f_r50_fpn.py'
