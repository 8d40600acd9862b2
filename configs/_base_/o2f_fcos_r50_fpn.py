# Kept for configs outside this repository that inherit it: FCOS-o2f R50-FPN on COCO 1x, the
# same as configs/det/o2f_r50_1x.py. New configs combine the concern bases directly:
# models/ (model + its hooks), datasets/, schedules/ and default_runtime.py.
_base_ = [
    './models/o2f_fcos_r50_fpn.py',
    './datasets/coco_detection.py',
    './schedules/schedule_1x.py',
    './default_runtime.py',
]
o2f_task = 'det'
