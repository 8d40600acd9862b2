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

    shape = image.shape[:2]
    sample = DetDataSample(metainfo=dict(img_shape=shape, ori_shape=shape,
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
    # One export serves every size: 64x64 (the tracing size) and 96x128, not seen by the tool.
    session = onnxruntime.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    for height, width in ((SIZE, SIZE), (96, 128)):
        _compare_with_predict(model, session, height, width)


def _compare_with_predict(model, session, height, width):
    image = np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)
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


def _run_export(*args, timeout=240):
    return subprocess.run([sys.executable, EXPORT, *map(str, args)], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def _assert_one_line(run, returncode, words):
    lines = run.stderr.strip().splitlines()
    assert run.returncode == returncode, run.stdout + run.stderr[-2000:]
    assert len(lines) == 1 and words in lines[0], run.stderr[-2000:]


def _listing(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize('opset', [3, 999])
def test_opset_outside_the_exporters_range_is_refused(tiny_detector, tmp_path, opset):
    from torch.onnx import _constants  # the range, read independently of the tool

    _, checkpoint = tiny_detector
    low, high = _constants.ONNX_MIN_OPSET, _constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET
    run = _run_export(O2F_DEMO, checkpoint, '--out', tmp_path / 'm.onnx', '--opset', opset)
    _assert_one_line(run, 2, f'--opset {opset} is outside [{low}, {high}]')
    assert not any(tmp_path.iterdir())


def test_max_det_zero_is_refused(tiny_detector, tmp_path):
    _, checkpoint = tiny_detector
    run = _run_export(O2F_DEMO, checkpoint, '--out', tmp_path / 'm.onnx', '--max-det', 0)
    _assert_one_line(run, 2, '--max-det must be at least 1, got 0')
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize('where,words', [
    ('folder', 'is a directory'),
    ('under_file', 'is a file, not a folder'),
    ('checkpoint', 'is the same file as the input'),
    ('config', 'is the same file as the input'),
])
def test_out_that_cannot_be_written_is_refused_and_nothing_changes(tiny_detector, tmp_path,
                                                                     where, words):
    import shutil

    _, checkpoint = tiny_detector
    # Copies in tmp_path: on the old code the export would have replaced them, not the repo's.
    for name in ('o2f_demo_cpu.py', 'fcos_demo_cpu.py'):
        shutil.copy(REPO / 'configs' / 'det' / name, tmp_path / name)
    config = tmp_path / 'o2f_demo_cpu.py'
    local_checkpoint = tmp_path / 'tiny.pth'
    shutil.copy(checkpoint, local_checkpoint)
    (tmp_path / 'canary.txt').write_text('canary')
    out = {'folder': tmp_path, 'under_file': tmp_path / 'canary.txt' / 'm.onnx',
           'checkpoint': local_checkpoint, 'config': config}[where]
    before = _listing(tmp_path)
    run = _run_export(config, local_checkpoint, '--out', out, '--size', SIZE, SIZE)
    _assert_one_line(run, 2, words)
    assert _listing(tmp_path) == before


def _load_tool():
    from o2f_det.deploy import export_cli

    return export_cli


@pytest.mark.parametrize('failure', ['differs', 'onnxruntime_fails'])
def test_failed_check_publishes_no_onnx(tiny_detector, tmp_path, monkeypatch, capsys, failure):
    _, checkpoint = tiny_detector
    tool = _load_tool()
    if failure == 'differs':  # onnxruntime runs, but (as if) beyond --tolerance
        def check(*args, **kwargs):
            return dict(graph_max_abs=1.0, predict_max_abs=1.0, opencv_max_abs=None,
                        labels_equal=True, num_compared=3, sizes=[(2, SIZE, SIZE)], ok=False)

        from o2f_det.deploy import onnx_export

        monkeypatch.setattr(onnx_export, 'check', check)
        words = 'the onnxruntime check failed'
    else:
        def broken_session(*args, **kwargs):
            raise RuntimeError('[ONNXRuntimeError] : 10 : INVALID_GRAPH : broken\nsecond line')

        monkeypatch.setattr(onnxruntime, 'InferenceSession', broken_session)
        words = 'onnxruntime cannot run the exported graph ([ONNXRuntimeError] : 10'
    out = tmp_path / 'm.onnx'
    out.write_bytes(b'an older export')  # kept as it was, not replaced by an unchecked graph
    code = tool.main([O2F_DEMO, str(checkpoint), '--out', str(out), '--size', str(SIZE),
                      str(SIZE), '--max-det', '20'])
    stderr = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(stderr) == 1 and words in stderr[0] and f'{out} was not written' in stderr[0]
    assert _listing(tmp_path) == {'m.onnx': b'an older export'}  # no temporary left either


def test_raw_variant_has_no_topk_and_runs_in_opencv_dnn(tiny_detector, tmp_path):
    """raw: boxes (B, N, 4) and scores (B, N, C) of all points; the caller's top-k = predict()."""
    import cv2

    model, checkpoint = tiny_detector
    out = tmp_path / 'tiny.raw.onnx'
    run = _run_export(O2F_DEMO, checkpoint, '--out', out, '--size', SIZE, SIZE,
                      '--variant', 'raw')
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert 'OpenCV DNN vs onnxruntime' in run.stdout and 'OK' in run.stdout
    graph = onnx.load(str(out))
    ops = {node.op_type for node in graph.graph.node}
    assert not ops & {'TopK', 'NonMaxSuppression', 'NonZero', 'Loop', 'If'}  # data-dependent
    assert [o.name for o in graph.graph.output] == ['boxes', 'scores']

    height, width = 96, 64  # another size than the export's
    num_points = sum(-(-height // s) * -(-width // s) for s in (8, 16, 32, 64))  # ceil
    image = np.random.default_rng(2).integers(0, 256, (height, width, 3), dtype=np.uint8)
    batch = image[None].transpose(0, 3, 1, 2).astype(np.float32).copy()
    session = onnxruntime.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    boxes, scores = session.run(None, {'image': batch})
    assert boxes.shape == (1, num_points, 4) and scores.shape == (1, num_points, 3)
    net = cv2.dnn.readNetFromONNX(str(out))
    net.setInput(batch, 'image')
    cv_boxes, cv_scores = net.forward(['boxes', 'scores'])
    np.testing.assert_allclose(np.asarray(cv_boxes).reshape(boxes.shape), boxes, atol=1e-4)
    np.testing.assert_allclose(np.asarray(cv_scores).reshape(scores.shape), scores, atol=1e-4)
    # The caller's top-k, written here with a full sort (the package uses argpartition).
    flat = scores[0].reshape(-1)
    order = np.argsort(-flat, kind='stable')
    pred = _predict(model, image)
    count = len(pred.scores)
    assert count > 5
    np.testing.assert_allclose(flat[order[:count]], pred.scores.numpy(), atol=1e-4)
    np.testing.assert_allclose(boxes[0, order[:count] // 3], pred.bboxes.numpy(), atol=1e-4)
    np.testing.assert_array_equal(order[:count] % 3, pred.labels.numpy())
