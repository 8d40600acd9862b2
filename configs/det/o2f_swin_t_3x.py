# FCOS-o2f, Swin-T + FPN, COCO 3x with multi-scale training (shorter side 640-800): the authors'
# configs/swin_3x.py (AdamW lr 1e-4, wd 0.05).
_base_ = [
    '../_base_/models/o2f_fcos_swin-t_fpn.py',
    '../_base_/datasets/coco_detection_ms.py',
    '../_base_/schedules/swin_adamw_3x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'
