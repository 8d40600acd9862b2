# COCO 2017 detection with the authors' multi-scale training of their 3x configs (r50_3x_ms.py):
# mmdet 2 `img_scale=[(1333, 640), (1333, 800)], multiscale_mode='range'` = a shorter side drawn
# uniformly from 640-800 (longer side at most 1333) per image. Testing and the rest as
# datasets/coco_detection.py.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=[(1333, 640), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

val_evaluator = dict(
    metric_items=['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@100'])
test_evaluator = val_evaluator
