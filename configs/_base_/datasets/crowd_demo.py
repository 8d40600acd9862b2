# The crowd demo's synthetic pedestrians (`o2f_crowd.synthetic_crowd`, written by
# `tools/demo.py --crowd` to work_dirs/demo_crowd/data): one class, CrowdHuman layout
# (annotations/crowd_{train,val}.odgt, Images/<ID>.jpg), 96x128 (HxW) images kept at their size,
# flip 0.5, 8 images per batch, no loader processes (2 cores). Box rules, ignore regions and
# metric as `crowdhuman.py` (full boxes; tag "mask" / extra.ignore are ignore regions, not passed
# to the head). Owns: dataset_type, data_root, image_size, *_pipeline, *_dataloader, *_evaluator.
dataset_type = 'O2FCrowdHumanDataset'
data_root = 'work_dirs/demo_crowd/data/'
image_size = (96, 128)  # (H, W), as generated

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_size[::-1], keep_ratio=True),  # identity; sets scale_factor
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size[::-1], keep_ratio=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/crowd_train.odgt',
        data_prefix=dict(img='Images/'),
        box_type='full',
        keep_ignore_regions=False,
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/crowd_val.odgt',
        data_prefix=dict(img='Images/'),
        box_type='full',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = [dict(type='O2FCrowdHumanMetric', ann_file=data_root + 'annotations/crowd_val.odgt',
                      metric=['AP', 'MR', 'JI', 'Recall'])]
test_evaluator = val_evaluator
