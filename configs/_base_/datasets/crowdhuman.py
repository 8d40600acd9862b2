# CrowdHuman full-body boxes (data/crowdhuman/{annotation_train.odgt, annotation_val.odgt,
# Images/<ID>.jpg}), the authors' data recipe (configs/crowdhuman.py, crowdhuman/crowdhuman.py):
# 2 images per GPU, 2 workers; training: longer side 1400, shorter side drawn uniformly from
# 480-960 (mmdet 2 `multiscale_mode='range'`), flip 0.5; testing at (1400, 800).
# Box rules of their dataset (O2FCrowdHumanDataset): a box with no overlap with the image, or under
# 1 px wide or high, is dropped; a box whose tag is not "person" or with extra.ignore != 0 is an
# ignore region. Ignore regions do not reach the head (theirs: not collected, so their points
# train as negatives); `keep_ignore_regions=True` passes them on as ignored instances, which
# O2FHead keeps out of its negatives with model.train_cfg.exclude_ignore_regions=True (a deviation,
# off by default; README "Recipes").
# Training drops images without a person (the authors' head cannot train on one); no COCO filter.
# Owns: dataset_type, data_root, *_pipeline, *_dataloader, *_evaluator.
dataset_type = 'O2FCrowdHumanDataset'
data_root = 'data/crowdhuman/'

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
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotation_train.odgt',
        data_prefix=dict(img='Images/'),
        box_type='full',
        keep_ignore_regions=False,
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotation_val.odgt',
        data_prefix=dict(img='Images/'),
        box_type='full',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# AP, mMR, Recall and JI with the community reference rules (o2f_crowd.evaluation).
val_evaluator = [dict(type='O2FCrowdHumanMetric', ann_file=data_root + 'annotation_val.odgt',
                      metric=['AP', 'MR', 'JI', 'Recall'])]
test_evaluator = val_evaluator
