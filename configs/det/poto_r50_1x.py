# Baseline: POTO one-to-one assignment (DeFCN, simplified; see _base_/models/poto_r50_fpn.py),
# R50 + FPN, 1x, with the backbone, head layers, data and schedule of o2f_r50_1x.py; no NMS.
_base_ = [
    '../_base_/models/poto_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'
