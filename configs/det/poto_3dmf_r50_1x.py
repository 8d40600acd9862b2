# Baseline (paper Table 5): DeFCN's POTO + 3DMF (see _base_/models/poto_3dmf_r50_fpn.py for where
# it differs from DeFCN), R50 + FPN, 1x, with the backbone, data and schedule of o2f_r50_1x.py;
# no NMS.
_base_ = [
    '../_base_/models/poto_3dmf_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'
