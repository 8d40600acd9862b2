"""ONNX export of a tiny NMS-free detector matches PyTorch in onnxruntime."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip('mmdet')
onnx = pytest.importorskip('onnx')
onnxruntime = pytest.importorskip('onnxruntime')

import torch  # noqa: E402

ENV = dict(os.environ, CUDA_VISIBLE_DEVICES='', PYTHONWARNINGS='ignore')

REPO = Path(__file__).resolve().parents[2]
EXPORT = str(REPO / 'tools' / 'export_onnx.py')
O2F_DEMO = str(REPO / 'configs' / 'det' / 'o2f_demo_cpu.py')
SIZE = 64


@pytest.fixture(scope='module')
def tiny_detector(tmp_path_factory):
    """The demo's o2f detector, untrained, with scores spread over (0, 1) instead of ~0.01."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import o2f_det  # noqa: F401

    cfg = Config.fromfile(O2F_DEMO)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():  # untrained heads score everything ~0.01: spread the scores out
        model.bbox_head.conv_cls.bias.normal_(0.0, 1.0)
    model.eval()
    checkpoint = tmp_path_factory.mktemp('onnx') / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return model, checkpoint


def _predict(model, image: np.ndarray):
    from mmdet.structures import DetDataSample

    sample = DetDataSample(metainfo=dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                                         scale_factor=(1.0, 1.0)))
    bgr = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[bgr], data_samples=[sample]), False)
        return model.predict(data['inputs'], data['data_samples'], rescale=False)[0].pred_instances


def test_export_matches_pytorch_in_onnxruntime(tiny_detector, tmp_path):
    model, checkpoint = tiny_detector
    out = tmp_path / 'tiny.onnx'
    run = subprocess.run([sys.executable, EXPORT, O2F_DEMO, str(checkpoint), '--out', str(out),
                          '--size', str(SIZE), str(SIZE), '--max-det', '100'],
                         env=ENV, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert 'OK' in run.stdout
    graph = onnx.load(str(out))
    ops = {node.op_type for node in graph.graph.node}
    assert 'NonMaxSuppression' not in ops and 'TopK' in ops
    assert [o.name for o in graph.graph.output] == ['boxes', 'scores', 'labels']

    # Independent of the tool's own check: a new random image, PyTorch's predict() vs ORT.
    image = np.random.default_rng(1).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    session = onnxruntime.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    batch = np.stack([image, image[::-1]]).transpose(0, 3, 1, 2).astype(np.float32)
    boxes, scores, labels = session.run(None, {'image': batch})  # dynamic batch of 2
    assert boxes.shape == (2, 100, 4) and scores.shape == (2, 100) and labels.dtype == np.int64
    assert np.all(np.diff(scores, axis=1) <= 0)
    for index, img in enumerate((image, np.ascontiguousarray(image[::-1]))):
        pred = _predict(model, img)
        above = scores[index] > model.bbox_head.test_cfg['score_thr']
        count = int(above.sum())
        assert count == len(pred.scores) > 5
        np.testing.assert_allclose(scores[index, :count], pred.scores.numpy(), atol=1e-4)
        np.testing.assert_allclose(boxes[index, :count], pred.bboxes.numpy(), atol=1e-4)
        np.testing.assert_array_equal(labels[index, :count], pred.labels.numpy())


def test_fcos_config_is_refused(tiny_detector, tmp_path):
    _, checkpoint = tiny_detector
    out = tmp_path / 'fcos.onnx'
    run = subprocess.run([sys.executable, EXPORT, str(REPO / 'configs/det/fcos_demo_cpu.py'),
                          str(checkpoint), '--out', str(out)],
                         env=ENV, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and 'needs NMS' in run.stderr
    assert not out.exists()
