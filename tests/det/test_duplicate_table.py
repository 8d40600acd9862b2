"""tools/test.py's table gets the duplicate rate (O2FDuplicateRateMetric) w/o and w/ NMS."""

from __future__ import annotations

import pytest

pytest.importorskip('mmdet')

from mmengine.config import Config  # noqa: E402

from o2f_core.eval_runner import add_duplicate_rate, format_table  # noqa: E402


def test_table_shows_the_rate_as_one_column():
    table = format_table([
        ('w/o NMS', {'coco/bbox_mAP': 0.4021, 'duplicate/rate': 0.25,
                     'duplicate/num_detections': 8, 'duplicate/num_duplicates': 2}),
        ('w/ NMS', {'coco/bbox_mAP': 0.41, 'duplicate/rate': 0.0,
                    'duplicate/num_detections': 6, 'duplicate/num_duplicates': 0})]).splitlines()
    assert table[0] == '| NMS | AP | dup@0.3 |'
    assert table[2] == '| w/o NMS | 0.402 | 0.250 |' and table[3] == '| w/ NMS | 0.410 | 0.000 |'


def test_metric_added_only_when_the_test_pipeline_loads_ground_truth():
    with_gt = Config(dict(
        test_dataloader=dict(dataset=dict(pipeline=[dict(type='LoadImageFromFile'),
                                                    dict(type='LoadAnnotations')])),
        test_evaluator=dict(type='CocoMetric')))
    assert add_duplicate_rate(with_gt)
    assert [e['type'] for e in with_gt.test_evaluator] == ['CocoMetric', 'O2FDuplicateRateMetric']
    assert add_duplicate_rate(with_gt) and len(with_gt.test_evaluator) == 2  # not twice
    without_gt = Config(dict(
        test_dataloader=dict(dataset=dict(pipeline=[dict(type='LoadImageFromFile')])),
        test_evaluator=[dict(type='O2FCrowdHumanMetric')]))
    assert not add_duplicate_rate(without_gt)
    assert [e['type'] for e in without_gt.test_evaluator] == ['O2FCrowdHumanMetric']
