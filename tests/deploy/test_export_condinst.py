"""CondInst-o2f exports end to end (boxes, scores, labels, masks at a fixed max_det)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip('mmdet')
onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SEG_DEMO = str(REPO / 'configs' / 'seg' / 'condinst_o2f_demo_cpu.py')
MAX_DET = 20


@pytest.fixture(scope='module')
def detector():
    import o2f_seg  # noqa: F401
    from o2f_det.deploy import onnx_export

    _, model = onnx_export.load_detector(SEG_DEMO, None, require_o2f=False, task='seg')
    torch.manual_seed(0)
    with torch.no_grad():
        model.bbox_head.conv_cls.bias.normal_(0.0, 1.0)
    return model


def test_dynamic_convs_as_matmul_equal_mmdets_grouped_conv(detector):
    from o2f_det.deploy.onnx_export import _dynamic_conv_as_matmul

    mask_head = detector.mask_head
    torch.manual_seed(1)
    params = torch.randn(5, mask_head.num_params)
    weights, biases = mask_head.parse_dynamic_params(params)
    channels = weights[0].shape[1]
    features = torch.randn(1, 5 * channels, 6, 7)
    expected = mask_head.dynamic_conv_forward(features, weights, biases, 5)
    torch.testing.assert_close(_dynamic_conv_as_matmul(features, weights, biases, 5), expected,
                               atol=1e-5, rtol=1e-5)


def test_condinst_end2end_in_onnxruntime(detector, tmp_path):
    from o2f_det.deploy import onnx_export

    module = onnx_export.CondInstEnd2End(detector, MAX_DET).eval()
    image = torch.from_numpy(
        np.random.default_rng(0).integers(0, 256, (1, 3, 64, 96)).astype(np.float32))
    path = str(tmp_path / 'condinst.onnx')
    onnx_export.export_module(module, image, path, ['boxes', 'scores', 'labels', 'masks'],
                              dynamic_size=False)
    assert 'TopK' in {n.op_type for n in onnx.load(path).graph.node}
    boxes, scores, labels, masks = onnx_export.run_onnxruntime(path, image.numpy())
    assert boxes.shape == (MAX_DET, 4) and masks.shape == (MAX_DET, 64, 96)
    with torch.no_grad():
        expected = [t.numpy() for t in module(image)]
        # mmdet's own path for the same selected points: its grouped-conv mask head.
        joint = detector.bbox_head(detector.extract_feat((image - module.dense.mean)
                                                         / module.dense.std))
    for ours, theirs in zip((boxes, scores, masks), (expected[0], expected[1], expected[3]),
                            strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-4)
    np.testing.assert_array_equal(labels, expected[2])
    # The scores are the top MAX_DET joint scores of the image, computed here independently.
    cls_scores, _, centernesses, _ = joint
    flat = torch.cat([(c.sigmoid() * t.sigmoid()).permute(0, 2, 3, 1).reshape(-1)
                      for c, t in zip(cls_scores, centernesses, strict=True)])
    np.testing.assert_allclose(scores, flat.sort(descending=True).values[:MAX_DET].numpy(),
                               atol=1e-6)
    assert 0.0 <= masks.min() and masks.max() <= 1.0 and masks.std() > 0
