# COCO 2017 instances with multi-scale training: shorter side drawn from [640, 800] (longer
# <= 1333) per image, the authors' CondInst 3x data (configs/condinst_r50_3x.py: mmdet 2's
# Resize img_scale=[(1333, 640), (1333, 800)], multiscale_mode='range'). Testing at 800.
_base_ = './coco_instance.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=[(1333, 640), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
