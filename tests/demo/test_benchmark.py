"""tools/benchmark.py runs all three measurements side by side and writes valid JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip('mmdet')

REPO = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, CUDA_VISIBLE_DEVICES='', PYTHONWARNINGS='ignore')


def test_benchmark_smoke_json(tmp_path):
    out = tmp_path / 'bench.json'
    run = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'benchmark.py'), '--repeats', '1', '--objects', '3',
         '--candidates', '50', '--e2e-images', '2', '--demo-dir', str(tmp_path / 'none'),
         '--json', str(out)], env=ENV, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    payload = json.loads(out.read_text())
    assert payload['device'] == 'cpu'
    rows = {row['benchmark']: row for row in payload['rows']}
    assert set(rows) == {'loss', 'postprocess', 'e2e'}
    assert 'kept: o2f 100, FCOS' in rows['postprocess']['case']  # max_per_img after 5 x 50
    for row in rows.values():  # measured side by side: both sides timed, nothing left at zero
        assert row['o2f_ms'] > 0 and row['fcos_ms'] > 0
    assert '| benchmark | case | o2f | FCOS | ratio o2f/FCOS | goal |' in run.stdout


def test_benchmark_bad_argument(tmp_path):
    run = subprocess.run([sys.executable, str(REPO / 'tools' / 'benchmark.py'), '--only', 'nms'],
                         env=ENV, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
