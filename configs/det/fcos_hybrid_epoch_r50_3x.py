# Hybrid-Epoch on FCOS, R50 + FPN, COCO 3x with multi-scale training (shorter side 640-800), as
# o2f_r50_3x.py: one-to-many in epochs 0-23, one-to-one from epoch 24 (the first lr step).
_base_ = [
    '../_base_/models/fcos_hybrid_epoch_r50_fpn.py',
    '../_base_/datasets/coco_detection_ms.py',
    '../_base_/schedules/schedule_3x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'

model = dict(train_cfg=dict(switch_epoch=24))
