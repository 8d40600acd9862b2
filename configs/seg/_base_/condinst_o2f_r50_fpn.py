# Kept so that references to this path keep working: the same config as
# configs/seg/condinst_o2f_1x.py. The o2f model settings now live in
# configs/_base_/models/condinst_o2f_r50_fpn.py (data, schedule: configs/_base_/datasets,
# configs/_base_/schedules).
_base_ = [
    '../../_base_/models/condinst_o2f_r50_fpn.py',
    '../../_base_/datasets/coco_instance.py',
    '../../_base_/schedules/condinst_sgd_1x.py',
    'mmdet::_base_/default_runtime.py',
]
o2f_task = 'seg'  # checked by tools/train.py and tools/test.py
custom_imports = dict(imports=['o2f_det', 'o2f_seg'], allow_failed_imports=False)
