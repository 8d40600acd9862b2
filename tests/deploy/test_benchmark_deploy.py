"""The deployment benchmark's machinery at tiny size (no timing assertion)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip('mmdet')
pytest.importorskip('onnxruntime')

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
O2F_DEMO = str(REPO / 'configs' / 'det' / 'o2f_demo_cpu.py')
FCOS_DEMO = str(REPO / 'configs' / 'det' / 'fcos_demo_cpu.py')
SIZE = 64
# Points of a 64x64 image at strides 8, 16, 32, 64, times 3 classes.
NUM_ENTRIES = (8 * 8 + 4 * 4 + 2 * 2 + 1 * 1) * 3


def _image(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


@pytest.mark.slow
def test_fcos_graph_with_nms_matches_mmdet_predict(tmp_path):
    """The FCOS graph (NonMaxSuppression inside) gives mmdet's own FCOS detections with NMS."""
    import onnx
    from mmdet.structures import DetDataSample

    from o2f_det.deploy import benchmark, onnx_export

    detector = benchmark.build_random_detector(FCOS_DEMO)
    torch.manual_seed(0)
    with torch.no_grad():
        detector.bbox_head.conv_cls.bias.normal_(0.0, 1.5)
        detector.bbox_head.conv_reg.bias.fill_(2.0)  # boxes that overlap, so NMS has work
        detector.bbox_head.conv_reg.weight.normal_(0.0, 0.05)
    image = _image()
    batch = np.ascontiguousarray(image.transpose(2, 0, 1)[None].astype(np.float32))
    path = str(tmp_path / 'fcos.onnx')
    onnx_export.export_module(benchmark.FCOSWithNMS(detector).eval(), torch.from_numpy(batch),
                              path, ['boxes', 'scores', 'labels'], dynamic_size=False)
    assert 'NonMaxSuppression' in {n.op_type for n in onnx.load(path).graph.node}
    _, (boxes, scores, labels) = benchmark.median_latency(path, batch, runs=1, threads=1)

    sample = DetDataSample(metainfo=dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                                         scale_factor=(1.0, 1.0)))
    with torch.no_grad():
        data = detector.data_preprocessor(
            dict(inputs=[torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)],
                 data_samples=[sample]), False)
        pred = detector.predict(data['inputs'], data['data_samples'])[0].pred_instances
    assert 5 < len(pred.scores) < 200  # NMS removed most of the 255 entries
    order = np.argsort(-scores, kind='stable')
    assert len(scores) == len(pred.scores)
    np.testing.assert_allclose(scores[order], pred.scores.numpy(), atol=1e-5)
    np.testing.assert_allclose(boxes[order], pred.bboxes.numpy(), atol=1e-3)
    np.testing.assert_array_equal(labels[order], pred.labels.numpy())


@pytest.mark.parametrize('fraction', [0.05, 0.4])
def test_calibrated_bias_lets_the_fraction_pass(fraction):
    from o2f_det.deploy import benchmark, onnx_export

    detector = benchmark.build_random_detector(O2F_DEMO)
    image = _image(1)
    bias = benchmark.calibrate_cls_bias(detector, image, fraction)
    with torch.no_grad():
        detector.bbox_head.conv_cls.bias.fill_(bias)
        _, joint = onnx_export.DenseDetector(detector).eval()(
            torch.from_numpy(image).permute(2, 0, 1)[None].float())
    passing = int((joint > detector.bbox_head.test_cfg['score_thr']).sum())
    assert joint.numel() == NUM_ENTRIES
    assert abs(passing - fraction * NUM_ENTRIES) <= 2


@pytest.mark.slow
def test_run_benchmark_at_tiny_size(tmp_path):
    from o2f_det.deploy import benchmark

    lines = []
    scenes = {'ordinary': 0.02, 'crowded': 0.5}
    result = benchmark.run_benchmark(O2F_DEMO, FCOS_DEMO, (SIZE, SIZE), str(tmp_path), runs=1,
                                     threads=1, scenes=scenes, log=lines.append)
    for scene, fraction in scenes.items():
        for name in ('o2f', 'fcos'):
            # The bias patched into the ONNX files decides the candidates the runtime sees.
            assert abs(result[scene][name]['candidates'] - fraction * NUM_ENTRIES) <= 2
            assert result[scene][name]['deployed_s'] > 0 and result[scene][name]['raw_s'] > 0
        # o2f keeps its top max_per_img (100) whatever the scene; FCOS what NMS leaves.
        assert result[scene]['o2f']['detections'] == min(
            100, result[scene]['o2f']['candidates'])
    assert result['crowded']['fcos']['detections'] > result['ordinary']['fcos']['detections']
    assert [line.split()[0] for line in lines if 'o2f / FCOS' in line] == ['ordinary',
                                                                           'crowded']
