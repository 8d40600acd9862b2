# COCO 2017 detection, the authors' data recipe: 2 images per GPU, 2 workers, shorter side 800
# (longer side at most 1333) for training and testing, horizontal flip 0.5; training skips images
# without objects or under 32 px (mmdet's coco_detection base, as the authors' mmdet 2 dataset).
# Evaluation every epoch (schedules/), with AR@100 next to the AP columns. Their `classwise=True`
# only prints a per-class table (no number changes); it is left off so that tools/test.py's
# with/without-NMS table stays the only table.
# Owns: dataset_type, data_root, backend_args, *_pipeline, *_dataloader, *_evaluator.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

val_evaluator = dict(
    metric_items=['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@100'])
test_evaluator = val_evaluator
