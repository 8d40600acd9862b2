"""The evaluator's memory stays bounded: detection x person arrays are built in row blocks.

One image with 300k detections and 1,000 persons needed dense (D, P) float64 arrays of 2.2 GiB
each; now at most ``PAIR_CHUNK_ELEMENTS`` pairs are materialised at a time, with the same numbers.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from o2f_crowd.evaluation import crowd_eval, eligible_pairs, evaluate, pairwise_ioa, pairwise_iou


def _random_boxes(rng, count, size=60.0):
    xy = rng.uniform(0, size, (count, 2))
    wh = rng.uniform(0, size / 3, (count, 2))
    return np.round(np.concatenate([xy, xy + wh], axis=1), 1)  # rounding: exact ties too


@pytest.mark.parametrize("chunk_elements", [1, 5, 37])
def test_chunked_pairs_equal_one_dense_pass_bit_for_bit(chunk_elements):
    rng = np.random.default_rng(7)
    for _ in range(30):
        dets = _random_boxes(rng, rng.integers(0, 80))
        persons = _random_boxes(rng, rng.integers(0, 9))
        dense = pairwise_iou(dets, persons)
        expected = np.nonzero(dense > 0.5)
        rows, cols, iou = eligible_pairs(dets, persons, chunk_elements=chunk_elements)
        np.testing.assert_array_equal(rows, expected[0])
        np.testing.assert_array_equal(cols, expected[1])
        assert iou.tobytes() == dense[expected].tobytes()
        inside = crowd_eval._inside_any(dets, persons, chunk_elements=chunk_elements)
        expected_inside = (pairwise_ioa(dets, persons) > 0.5).any(axis=1) if len(persons) else \
            np.zeros(len(dets), dtype=bool)
        np.testing.assert_array_equal(inside, expected_inside)
    # The blocks really split 80 rows x 9 columns: one row each when a row alone exceeds the
    # block (9 > 1, 9 > 5), else 37 // 9 = 4 rows per block.
    blocks = crowd_eval._row_blocks(80, 9, chunk_elements)
    assert len(blocks) == {1: 80, 5: 80, 37: 20}[chunk_elements]


def test_evaluate_with_tiny_blocks_equals_evaluate_with_one_block(monkeypatch):
    rng = np.random.default_rng(11)
    gt_records, dt_records = [], []
    for index in range(12):
        persons, ignores = _random_boxes(rng, 8), _random_boxes(rng, 2)
        dets = np.concatenate([persons + rng.normal(0, 1.5, persons.shape), _random_boxes(rng, 40)])
        dets[:, 2:] = np.maximum(dets[:, 2:], dets[:, :2])
        to_xywh = lambda b: [b[0], b[1], b[2] - b[0], b[3] - b[1]]  # noqa: E731
        gt_records.append({"ID": f"i{index}", "height": 70, "width": 70, "gtboxes":
                           [{"tag": "person", "fbox": to_xywh(b)} for b in persons.tolist()]
                           + [{"tag": "mask", "fbox": to_xywh(b)} for b in ignores.tolist()]})
        scores = np.round(rng.uniform(0, 1, len(dets)), 2)
        dt_records.append({"ID": f"i{index}", "dtboxes": [
            {"box": to_xywh(b), "score": s} for b, s in zip(dets.tolist(), scores.tolist(),
                                                             strict=True)]})
    monkeypatch.setattr(crowd_eval, "PAIR_CHUNK_ELEMENTS", 1 << 30)
    one_block = evaluate(gt_records, dt_records)
    monkeypatch.setattr(crowd_eval, "PAIR_CHUNK_ELEMENTS", 3)
    tiny_blocks = evaluate(gt_records, dt_records)
    assert one_block["num_tp"] > 30 and one_block["num_dropped"] > 0
    assert json.dumps(tiny_blocks) == json.dumps(one_block)  # every float to the last bit


# A child process evaluates one image under an address-space limit of its size after the imports
# plus 256 MiB. The dense (30,000 x 1,000) float64 temporaries were 229 MiB each (several alive at
# once: MemoryError before); in blocks the image needs a few tens of MiB.
CHILD = r"""
import json, resource, sys
import numpy as np
from o2f_crowd.evaluation import DtImage, GtImage, evaluate

num_persons, num_ignores, num_dets = map(int, sys.argv[1:4])
# Persons: a grid of 20x50 boxes in the top 1500 rows; detections: one exact copy of each
# person (score 0.9), the rest 5x5 boxes in the bottom 400 rows, inside ignore cells if any.
index = np.arange(num_persons)
x, y = 25.0 * (index % 40), 60.0 * (index // 40)
persons = np.column_stack([x, y, x + 20, y + 50])
cell = np.arange(num_ignores)
ix, iy = 20.0 * (cell % 50), 1600.0 + 20.0 * (cell // 50)
ignores = np.column_stack([ix, iy, ix + 20, iy + 20])
rng = np.random.default_rng(0)
rest = num_dets - num_persons
pick = rng.integers(0, max(num_ignores, 1), rest)
if num_ignores:  # 5x5 boxes well inside one ignore cell each
    dx, dy = ix[pick] + 2 + rng.uniform(0, 10, rest), iy[pick] + 2 + rng.uniform(0, 10, rest)
else:
    dx, dy = rng.uniform(0, 990, rest), rng.uniform(1600, 1990, rest)
dets = np.vstack([persons, np.column_stack([dx, dy, dx + 5, dy + 5])])
scores = np.r_[np.full(num_persons, 0.9), rng.uniform(0, 0.8, rest)]
gt = GtImage("a", 2000.0, 1000.0, persons, ignores)
dt = DtImage("a", None, None, dets, scores)

with open("/proc/self/status") as status:
    size_kib = next(int(l.split()[1]) for l in status if l.startswith("VmSize:"))
limit = size_kib * 1024 + (256 << 20)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
metrics = evaluate([gt], [dt])
print(json.dumps({k: metrics[k] for k in ("num_tp", "num_fp", "num_dropped", "Recall")}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, RLIMIT_AS")
@pytest.mark.parametrize("num_persons,num_ignores", [(1000, 0), (10, 1000)])
def test_one_crowded_image_fits_a_tight_memory_limit(num_persons, num_ignores):
    num_dets = 30_000
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-c", CHILD, str(num_persons), str(num_ignores),
                          str(num_dets)], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-1500:]
    metrics = json.loads(run.stdout)
    # Every person has its exact copy (IoU 1); the other detections overlap no person: they are
    # false positives, or all dropped when each lies inside an ignore cell (IoA 1).
    rest = num_dets - num_persons
    assert metrics == {"num_tp": num_persons, "num_fp": 0 if num_ignores else rest,
                       "num_dropped": rest if num_ignores else 0, "Recall": 1.0}
