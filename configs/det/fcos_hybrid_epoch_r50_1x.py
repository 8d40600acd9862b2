# Baseline (paper Sec. 4.3): Hybrid-Epoch on FCOS, R50 + FPN, 1x, as o2f_r50_1x.py: one-to-many
# (FCOS) labels in epochs 0-7, one-to-one (POTO) in epochs 8-11; no NMS. The switch epoch:
#   --cfg-options model.train_cfg.switch_epoch=E
_base_ = [
    '../_base_/models/fcos_hybrid_epoch_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'
