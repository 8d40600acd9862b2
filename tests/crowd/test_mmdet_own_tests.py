"""mmdet's own CrowdHuman dataset and metric tests, run against o2f's classes.

Adapted from open-mmlab/mmdetection (Apache-2.0, Copyright (c) OpenMMLab):
``tests/test_datasets/test_crowdhuman.py`` (commit 114dbbfa) and
``tests/test_evaluation/test_metrics/test_crowdhuman_metric.py`` (commit 19bceba5). Only the class
names changed (``CrowdHumanDataset`` -> ``O2FCrowdHumanDataset``, ``CrowdHumanMetric`` ->
``O2FCrowdHumanMetric``); the data under ``tests/data/crowdhuman_dataset/`` are mmdet's (see
``tests/data/README.md``). mmdet's tests use paths relative to the repository root, so a fixture
runs them there.
"""
import os.path as osp
import tempfile
import unittest
from pathlib import Path
from unittest import TestCase

import numpy as np
import pytest

pytest.importorskip("mmdet")

import torch  # noqa: E402

from o2f_crowd.datasets import O2FCrowdHumanDataset  # noqa: E402
from o2f_crowd.metrics import O2FCrowdHumanMetric  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch):
    monkeypatch.chdir(REPO)


# ---- mmdet tests/test_datasets/test_crowdhuman.py -------------------------------------------
class TestCrowdHumanDataset(unittest.TestCase):

    def test_crowdhuman_init(self):
        dataset = O2FCrowdHumanDataset(
            data_root='tests/data/crowdhuman_dataset/',
            ann_file='test_annotation_train.odgt',
            data_prefix=dict(img='Images/'),
            pipeline=[])
        self.assertEqual(len(dataset), 1)
        self.assertEqual(dataset.metainfo['classes'], ('person', ))


# ---- mmdet tests/test_evaluation/test_metrics/test_crowdhuman_metric.py ---------------------
class TestCrowdHumanMetric(TestCase):

    def _create_dummy_results(self):
        bboxes = np.array([[1330, 317, 418, 1338], [792, 24, 723, 2017],
                           [693, 291, 307, 894], [522, 290, 285, 826],
                           [728, 336, 175, 602], [92, 337, 267, 681]])
        bboxes[:, 2:4] += bboxes[:, 0:2]
        scores = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
        return dict(
            bboxes=torch.from_numpy(bboxes), scores=torch.from_numpy(scores))

    def setUp(self):
        self.tmp_dir = tempfile.TemporaryDirectory()
        self.ann_file_path = \
            'tests/data/crowdhuman_dataset/test_annotation_train.odgt',

    def tearDown(self):
        self.tmp_dir.cleanup()

    def test_init(self):
        with self.assertRaisesRegex(KeyError, 'metric should be one of'):
            O2FCrowdHumanMetric(ann_file=self.ann_file_path[0], metric='unknown')

    def test_evaluate(self):
        # create dummy data
        dummy_pred = self._create_dummy_results()

        crowdhuman_metric = O2FCrowdHumanMetric(
            ann_file=self.ann_file_path[0],
            outfile_prefix=f'{self.tmp_dir.name}/test')
        crowdhuman_metric.process({}, [
            dict(
                pred_instances=dummy_pred,
                img_id='283554,35288000868e92d4',
                ori_shape=(1640, 1640))
        ])
        eval_results = crowdhuman_metric.evaluate(size=1)
        target = {
            'crowd_human/mAP': 0.8333,
            'crowd_human/mMR': 0.0,
            'crowd_human/JI': 1.0
        }
        self.assertDictEqual(eval_results, target)
        self.assertTrue(osp.isfile(osp.join(self.tmp_dir.name, 'test.json')))
