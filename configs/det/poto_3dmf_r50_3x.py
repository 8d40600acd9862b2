# POTO + 3DMF, R50 + FPN, COCO 3x with multi-scale training (shorter side 640-800), as
# o2f_r50_3x.py (DeFCN's own runs are 3x multi-scale).
_base_ = [
    '../_base_/models/poto_3dmf_r50_fpn.py',
    '../_base_/datasets/coco_detection_ms.py',
    '../_base_/schedules/schedule_3x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'
