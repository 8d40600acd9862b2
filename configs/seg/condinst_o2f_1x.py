# CondInst-o2f, ResNet-50 + FPN, 1x (12 epochs), COCO instances (paper Table 9, "Ours 1x"):
# the authors' recipe, field for field (github strongwolf/o2f configs/condinst_r50_1x.py).
#
#   python tools/train.py seg configs/seg/condinst_o2f_1x.py
#   python tools/test.py seg configs/seg/condinst_o2f_1x.py CHECKPOINT   # mask + box AP, +-NMS
_base_ = [
    '../_base_/models/condinst_o2f_r50_fpn.py',
    '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/condinst_sgd_1x.py',
    'mmdet::_base_/default_runtime.py',
]
o2f_task = 'seg'  # checked by tools/train.py and tools/test.py
custom_imports = dict(imports=['o2f_det', 'o2f_seg'], allow_failed_imports=False)
