# FCOS-o2f, Swin-T + FPN, COCO 1x: the authors' configs/swin_1x.py (AdamW lr 1e-4, wd 0.05).
_base_ = [
    '../_base_/models/o2f_fcos_swin-t_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/swin_adamw_1x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'
