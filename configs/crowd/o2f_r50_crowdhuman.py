# FCOS-o2f, ResNet-50 + FPN on CrowdHuman full-body boxes (paper Table 8: AP 90.9, mMR 45.2,
# Recall 97.9), with the official o2f CrowdHuman recipe where it differs from COCO:
#   one class; top-4 *including* the certain positive (1 certain + 3 ambiguous); 50 epochs with
#   T from 0.6 to 0.2 over them; multi-scale training, longer side 1400 and shorter side in
#   [480, 960]; test at (1400, 800); per level the 5000 best scores, the 500 best per image, no NMS.
# Data: data/crowdhuman/{annotation_train.odgt, annotation_val.odgt, Images/<ID>.jpg}. Boxes that
# are not tag "person", or have extra.ignore != 0, are ignore regions (no loss, dropped in eval).
# Optimiser: the base's SGD 0.01 for batch 16 (the paper's CNN recipe; the official CrowdHuman
# script used AdamW lr 4e-5, wd 1e-4) with the official schedule: warm-up, x0.1 after epoch 40.
#
#   python tools/train.py crowd configs/crowd/o2f_r50_crowdhuman.py
#   python tools/eval_crowd.py --config configs/crowd/o2f_r50_crowdhuman.py --checkpoint CKPT \
#       --dt work_dirs/o2f_r50_crowdhuman/val_dt.odgt --json work_dirs/o2f_r50_crowdhuman/val.json
_base_ = '../_base_/o2f_fcos_r50_fpn.py'
custom_imports = dict(
    imports=['o2f_det', 'o2f_crowd.datasets', 'o2f_crowd.metrics'], allow_failed_imports=False)
o2f_task = 'crowd'

data_root = 'data/crowdhuman/'
dataset_type = 'O2FCrowdHumanDataset'
max_epochs = 50

model = dict(
    backbone=dict(norm_cfg=dict(type='BN', requires_grad=True)),  # official: affine BN trained
    bbox_head=dict(num_classes=1),
    train_cfg=dict(assigner=dict(num_ambiguous=3)),
    test_cfg=dict(nms_pre=5000, max_per_img=500))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=[(1400, 480), (1400, 960)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1400, 800), keep_ratio=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotation_train.odgt',
        data_prefix=dict(img='Images/'),
        box_type='full',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotation_val.odgt',
        data_prefix=dict(img='Images/'),
        box_type='full',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# A list replaces the base's CocoMetric dict instead of merging keys into it.
val_evaluator = [dict(type='O2FCrowdHumanMetric', ann_file=data_root + 'annotation_val.odgt',
                      metric=['AP', 'MR', 'JI', 'Recall'])]
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=5)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[40], gamma=0.1),
]
default_hooks = dict(
    checkpoint=dict(interval=10, save_best='crowd_human/mMR', rule='less', max_keep_ckpts=3))
auto_scale_lr = dict(enable=False, base_batch_size=16)
