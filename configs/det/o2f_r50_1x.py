# FCOS-o2f, ResNet-50 + FPN, COCO 1x: the authors' configs/r50_1x.py (paper Table 5: 39.0 AP
# without NMS). The bases hold every setting (README "Recipes").
#
#   python tools/train.py det configs/det/o2f_r50_1x.py
_base_ = [
    '../_base_/models/o2f_fcos_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'  # checked by tools/train.py and tools/test.py
