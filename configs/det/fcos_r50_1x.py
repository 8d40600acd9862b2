# Baseline: mmdet FCOS (one-to-many, with mmdet's centre sampling / GIoU / norm-on-bbox tricks),
# R50 + FPN, 1x, with the backbone, data and schedule of o2f_r50_1x.py. Evaluated with NMS (its
# default here) and without: tools/test.py runs both.
_base_ = [
    '../_base_/models/fcos_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'
