# Baseline: mmdet's CondInst (one-to-many, box NMS), R50 + FPN, 1x, on the data and schedule
# of condinst_o2f_1x.py. Paper Table 9: 35.4 AP with NMS, 9.5 without; tools/test.py
# evaluates both. Model: _base_/models/condinst_r50_fpn.py.
_base_ = [
    '../_base_/models/condinst_r50_fpn.py',
    '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/condinst_sgd_1x.py',
    'mmdet::_base_/default_runtime.py',
]
o2f_task = 'seg'  # checked by tools/train.py and tools/test.py
custom_imports = dict(imports=['o2f_det', 'o2f_seg'], allow_failed_imports=False)
