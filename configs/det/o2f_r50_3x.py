# FCOS-o2f, ResNet-50 + FPN, COCO 3x (36 epochs, lr x0.1 at 24 and 33) with multi-scale training
# (shorter side 640-800): the authors' configs/r50_3x_ms.py. T runs from 0.6 to 0.2 over 36 epochs.
_base_ = [
    '../_base_/models/o2f_fcos_r50_fpn.py',
    '../_base_/datasets/coco_detection_ms.py',
    '../_base_/schedules/schedule_3x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'
