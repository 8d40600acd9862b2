# Baseline: CondInst trained one-to-one with POTO (DeFCN; paper Table 9 "POTO", 32.8 AP 1x, no
# NMS), on the data and schedule of condinst_o2f_1x.py.
# Model: configs/_base_/models/condinst_poto_r50_fpn.py.
_base_ = [
    '../_base_/models/condinst_poto_r50_fpn.py',
    '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/condinst_sgd_1x.py',
    'mmdet::_base_/default_runtime.py',
]
o2f_task = 'seg'  # checked by tools/train.py and tools/test.py
custom_imports = dict(imports=['o2f_det', 'o2f_seg'], allow_failed_imports=False)
