# FCOS-o2f, ResNet-50 + FPN on CrowdHuman full-body boxes: the authors' configs/crowdhuman.py
# (paper Table 8: AP 90.9, mMR 45.2, Recall 97.9). Where it differs from COCO: one class; top-4
# *including* the certain positive (1 certain + 3 ambiguous); per level the 5000 best scores, the
# 500 best per image, no NMS; data and AdamW schedule in the CrowdHuman bases (README "Recipes").
#
#   python tools/train.py crowd configs/crowd/o2f_r50_crowdhuman.py
#   python tools/eval_crowd.py --config configs/crowd/o2f_r50_crowdhuman.py --checkpoint CKPT \
#       --dt work_dirs/o2f_r50_crowdhuman/val_dt.odgt --json work_dirs/o2f_r50_crowdhuman/val.json
_base_ = [
    '../_base_/models/o2f_fcos_r50_fpn.py',
    '../_base_/datasets/crowdhuman.py',
    '../_base_/schedules/crowdhuman_50e.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['o2f_det', 'o2f_crowd.datasets', 'o2f_crowd.metrics'], allow_failed_imports=False)
o2f_task = 'crowd'

model = dict(
    bbox_head=dict(num_classes=1),
    train_cfg=dict(assigner=dict(num_ambiguous=3)),
    test_cfg=dict(nms_pre=5000, max_per_img=500))

# Checkpoints every 10 epochs (the authors'), plus the best val mMR.
default_hooks = dict(
    checkpoint=dict(interval=10, save_best='crowd_human/mMR', rule='less', max_keep_ckpts=3))
