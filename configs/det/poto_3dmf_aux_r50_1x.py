# Baseline (paper Table 5): DeFCN's POTO + 3DMF + Aux, R50 + FPN, 1x, as o2f_r50_1x.py; no NMS.
# The auxiliary assigner is ATSS on the matching quality (DeFCN's); top-k or FCOS instead:
#   --cfg-options model.train_cfg.aux_assigner.type=QualityTopkAssigner   (or FCOSAssigner)
_base_ = [
    '../_base_/models/poto_3dmf_aux_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
o2f_task = 'det'
