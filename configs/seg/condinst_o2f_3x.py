# CondInst-o2f, ResNet-50 + FPN, 3x (36 epochs, lr x0.1 at 24 and 33), multi-scale 640-800
# training (paper Table 9, "Ours 3x"): the authors' configs/condinst_r50_3x.py. T runs from
# 0.6 to 0.2 over all 36 epochs.
_base_ = [
    '../_base_/models/condinst_o2f_r50_fpn.py',
    '../_base_/datasets/coco_instance_ms_640_800.py',
    '../_base_/schedules/condinst_sgd_3x.py',
    'mmdet::_base_/default_runtime.py',
]
o2f_task = 'seg'  # checked by tools/train.py and tools/test.py
custom_imports = dict(imports=['o2f_det', 'o2f_seg'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(interval=9))  # as the authors' checkpoint_config
