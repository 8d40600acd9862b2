"""tools/infer.py on an image, a folder and a video; mmdet's DetInferencer as the reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip('mmdet')
cv2 = pytest.importorskip('cv2')

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
O2F_DEMO = str(REPO / 'configs' / 'det' / 'o2f_demo_cpu.py')
FCOS_DEMO = str(REPO / 'configs' / 'det' / 'fcos_demo_cpu.py')
THR = 0.3


def _random_model(config, seed=0):
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import o2f_det  # noqa: F401

    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():  # untrained heads score everything ~0.01: spread the scores out
        model.bbox_head.conv_cls.bias.normal_(0.0, 1.5)
        model.bbox_head.conv_reg.bias.fill_(3.0)  # boxes ~6 strides wide, not points
    return model.eval()


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """A random-init o2f checkpoint, an FCOS one (the wrong model), two images and a video."""
    from o2f_core.synthetic import generate_scene

    root = tmp_path_factory.mktemp('infer')
    torch.save({'state_dict': _random_model(O2F_DEMO).state_dict()}, root / 'o2f.pth')
    torch.save({'state_dict': _random_model(FCOS_DEMO).state_dict()}, root / 'fcos.pth')
    (root / 'images').mkdir()
    frames = [generate_scene(np.random.default_rng(i), (96, 128)).image[..., ::-1].copy()
              for i in range(3)]
    for index in range(2):
        cv2.imwrite(str(root / 'images' / f'scene{index}.png'), frames[index])
    video = cv2.VideoWriter(str(root / 'clip.mp4'), cv2.VideoWriter_fourcc(*'mp4v'), 5,
                            (128, 96))
    if not video.isOpened():
        pytest.skip('no MPEG-4 video codec in this OpenCV build')
    for frame in frames:
        video.write(frame)
    video.release()
    return root


def _infer(*args):
    from o2f_det.deploy.inference import main

    return main([str(a) for a in args])


def _reference(config, checkpoint, image_path):
    """mmdet's DetInferencer (our configs and checkpoints work with it): detections above THR."""
    from mmdet.apis import DetInferencer

    inferencer = DetInferencer(model=config, weights=str(checkpoint), device='cpu',
                               show_progress=False)
    pred = inferencer(str(image_path), return_vis=False, no_save_vis=True)['predictions'][0]
    keep = np.asarray(pred['scores']) > THR
    return (np.asarray(pred['bboxes'])[keep], np.asarray(pred['scores'])[keep],
            np.asarray(pred['labels'])[keep])


def _boxes(detections):
    return (np.array([d['bbox'] for d in detections]).reshape(-1, 4),
            np.array([d['score'] for d in detections]),
            np.array([d['label'] for d in detections]))


def test_image_and_folder_match_det_inferencer(files, tmp_path):
    out = tmp_path / 'out'
    image = files / 'images' / 'scene0.png'
    assert _infer(O2F_DEMO, files / 'o2f.pth', files / 'images', '--out-dir', out,
                  '--device', 'cpu') == 0
    assert sorted(p.name for p in out.iterdir()) == ['scene0.json', 'scene0.png', 'scene1.json',
                                                    'scene1.png']
    result = json.loads((out / 'scene0.json').read_text())
    assert (result['height'], result['width']) == (96, 128)
    assert result['classes'] == ['disk', 'triangle', 'l_shape']
    boxes, scores, labels = _boxes(result['detections'])
    ref_boxes, ref_scores, ref_labels = _reference(O2F_DEMO, files / 'o2f.pth', image)
    assert len(scores) == len(ref_scores) > 3
    np.testing.assert_allclose(boxes, ref_boxes, atol=0.01)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-5)
    np.testing.assert_array_equal(labels, ref_labels)
    assert [d['class_name'] for d in result['detections']] == [
        result['classes'][label] for label in labels]
    drawn = cv2.imread(str(out / 'scene0.png'))
    assert drawn.shape == (96, 128, 3) and not np.array_equal(drawn, cv2.imread(str(image)))
    # A single image gives the same JSON as the folder run.
    single = tmp_path / 'single'
    assert _infer(O2F_DEMO, files / 'o2f.pth', image, '--out-dir', single) == 0
    assert json.loads((single / 'scene0.json').read_text())['detections'] == (
        result['detections'])


def test_video_frames_and_coco_json(files, tmp_path):
    out = tmp_path / 'out'
    assert _infer(O2F_DEMO, files / 'o2f.pth', files / 'clip.mp4', '--out-dir', out) == 0
    result = json.loads((out / 'clip.json').read_text())
    assert [f['frame'] for f in result['frames']] == [0, 1, 2]
    capture = cv2.VideoCapture(str(out / 'clip.mp4'))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    capture.release()

    coco_dir = tmp_path / 'coco'
    assert _infer(O2F_DEMO, files / 'o2f.pth', files / 'clip.mp4', '--out-dir', coco_dir,
                  '--coco-json') == 0
    assert sorted(p.name for p in coco_dir.iterdir()) == ['clip.mp4', 'results.json']
    rows = json.loads((coco_dir / 'results.json').read_text())
    expected = [(index, d) for index, f in enumerate(result['frames']) for d in f['detections']]
    assert len(rows) == len(expected) > 0
    for row, (index, det) in zip(rows, expected, strict=True):
        x1, y1, x2, y2 = det['bbox']
        assert row['image_id'] == index and row['category_id'] == det['label']
        np.testing.assert_allclose(row['bbox'], [x1, y1, x2 - x1, y2 - y1], atol=0.011)


def _iou(a, b):
    lt, rb = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = np.prod(np.clip(rb - lt, 0, None))
    return inter / max((a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inter, 1e-9)


def _max_same_class_iou(detections):
    boxes, _, labels = _boxes(detections)
    return max((_iou(boxes[i], boxes[j]) for i in range(len(boxes))
                for j in range(i + 1, len(boxes)) if labels[i] == labels[j]), default=0.0)


def test_nms_switch(files, tmp_path):
    image = files / 'images' / 'scene1.png'
    free, nms = tmp_path / 'free', tmp_path / 'nms'
    assert _infer(O2F_DEMO, files / 'o2f.pth', image, '--out-dir', free, '--score-thr', 0.1) == 0
    assert _infer(O2F_DEMO, files / 'o2f.pth', image, '--out-dir', nms, '--score-thr', 0.1,
                  '--nms') == 0
    without = json.loads((free / 'scene1.json').read_text())['detections']
    with_nms = json.loads((nms / 'scene1.json').read_text())['detections']
    assert _max_same_class_iou(without) > 0.6  # a random model has many duplicates ...
    assert _max_same_class_iou(with_nms) <= 0.6 + 1e-3  # ... that the config's NMS (0.6) removes
    assert len(with_nms) > 0 and with_nms != without
    assert all(d['score'] > 0.1 for d in with_nms)


def _one_line(capsys, words):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


@pytest.mark.parametrize('case,words', [
    ('unreadable_image', 'cannot read image'),
    ('unsupported_video', 'cannot read video'),
    ('wrong_checkpoint', 'checkpoint'),
    ('missing_input', 'input not found'),
    ('unknown_extension', 'is neither an image'),
    ('out_dir_is_input', 'is an input folder'),
])
def test_bad_input_is_one_line_exit_2(files, tmp_path, capsys, case, words):
    bad = tmp_path / 'inputs'
    bad.mkdir()
    (bad / 'broken.png').write_bytes(b'not a png')
    (bad / 'broken.mp4').write_bytes(b'not a video')
    (bad / 'notes.txt').write_text('text')
    out = tmp_path / 'out'
    checkpoint, inputs = files / 'o2f.pth', [files / 'images' / 'scene0.png']
    if case == 'unreadable_image':
        inputs = [bad / 'broken.png']
    elif case == 'unsupported_video':
        inputs = [bad / 'broken.mp4']
    elif case == 'wrong_checkpoint':
        checkpoint = files / 'fcos.pth'
    elif case == 'missing_input':
        inputs = [tmp_path / 'nowhere.png']
    elif case == 'unknown_extension':
        inputs = [bad / 'notes.txt']
    else:
        inputs, out = [files / 'images'], files / 'images'
    before = sorted(p.name for p in (files / 'images').iterdir())
    assert _infer(O2F_DEMO, checkpoint, *inputs, '--out-dir', out) == 2
    _one_line(capsys, words)
    if case != 'out_dir_is_input':
        assert not out.exists() or not any(out.iterdir())
    assert sorted(p.name for p in (files / 'images').iterdir()) == before
