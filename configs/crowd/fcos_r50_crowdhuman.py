# Baseline: mmdet FCOS (one-to-many labels, centre sampling, GIoU, centerness) with NMS (IoU 0.6,
# then the 500 best per image), R50 + FPN, with exactly the data handling, schedule and evaluation
# of `o2f_r50_crowdhuman.py` (paper Table 8, FCOS: AP 86.1, mMR 55.2, Recall 94.3), so the two
# differ only in label assignment. mmdet's FCOS loss does not use ignore regions: their points
# train as negatives, with or without the dataset's keep_ignore_regions switch.
#
#   python tools/train.py crowd configs/crowd/fcos_r50_crowdhuman.py
_base_ = [
    '../_base_/models/fcos_r50_fpn.py',
    '../_base_/datasets/crowdhuman.py',
    '../_base_/schedules/crowdhuman_50e.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['o2f_det', 'o2f_crowd.datasets', 'o2f_crowd.metrics'], allow_failed_imports=False)
o2f_task = 'crowd'

model = dict(
    bbox_head=dict(num_classes=1),
    test_cfg=dict(nms_pre=5000, max_per_img=500))

default_hooks = dict(
    checkpoint=dict(interval=10, save_best='crowd_human/mMR', rule='less', max_keep_ckpts=3))
