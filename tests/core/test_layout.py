"""The layout of issue 16, part 4: thin tools, shared plumbing in o2f_core, imports without side
effects, one implementation of each shared helper."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / 'packages'
MAX_TOOL_LINES = 60
# Scripts that are not shims over package code: the installer runs before the packages exist;
# the benchmarks are measurements kept as scripts (their code is what is measured and reported).
NOT_SHIMS = {'setup_env.py', 'benchmark.py', 'benchmark_assigner.py', 'benchmark_eval_crowd.py'}


def _python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (nothing imported yet); it prints one JSON line."""
    run = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def _sources(*roots: Path):
    for root in roots:
        yield from sorted(root.rglob('*.py'))


def test_tools_are_thin_shims_without_sys_path_tricks():
    tools = sorted(path for path in (REPO / 'tools').glob('*.py') if path.name not in NOT_SHIMS)
    assert {path.name for path in tools} >= {'train.py', 'test.py', 'demo.py', 'visualize.py',
                                             'eval_crowd.py', 'make_synthetic.py'}
    for path in tools:
        text = path.read_text()
        assert len(text.splitlines()) <= MAX_TOOL_LINES, f'{path.name}: {len(text.splitlines())}'
    # no sys.path manipulation, no import of a sibling script (``from visualize import ...``)
    scripts = '|'.join(path.stem for path in (REPO / 'tools').glob('*.py'))
    tricks = re.compile(rf'sys\.path\s*(\.\w+\(|\[|=|\+=)|^\s*(from|import) ({scripts})\b', re.M)
    for path in (REPO / 'tools').glob('*.py'):
        assert not tricks.search(path.read_text()), path.name


def test_importing_o2f_core_and_the_file_mode_cli_pulls_no_mmdet_and_no_torch():
    found = _python(
        'import json, sys\n'
        'import o2f_core, o2f_core.cli, o2f_core.io, o2f_crowd.cli\n'
        'print(json.dumps({m: m in sys.modules for m in ("mmdet", "mmengine", "torch")}))')
    assert found == {'mmdet': False, 'mmengine': False, 'torch': False}


CHECKPOINT_STATE = (
    'import json, torch\n'
    'from mmengine.logging.history_buffer import HistoryBuffer\n'
    'from mmengine.runner.checkpoint import CheckpointLoader\n'
    'def state():\n'
    '    return dict(safe_globals=len(torch.serialization.get_safe_globals()),\n'
    '                getstate=HistoryBuffer.__getstate__.__module__,\n'
    '                local_loader=CheckpointLoader._schemes[""].__module__)\n'
    'before = state()\n')


def test_importing_o2f_det_installs_no_checkpoint_support_and_the_runner_does():
    code = CHECKPOINT_STATE + (
        'import o2f_det, o2f_seg, o2f_crowd.datasets, o2f_crowd.metrics\n'
        'after_import = state()\n'
        'from o2f_core import eval_runner\n'
        'code = eval_runner.run(["configs/det/o2f_demo_cpu.py", "missing.pth"], "det")\n'
        'print(json.dumps(dict(before=before, after_import=after_import, code=code,\n'
        '                      after_runner=state())))\n')
    found = _python(code)
    assert found['before']['getstate'] == 'mmengine.logging.history_buffer'
    assert found['before']['local_loader'] == 'mmengine.runner.checkpoint'
    assert found['after_import'] == found['before']  # no global side effect
    assert found['code'] == 2  # the runner set up, then refused the missing checkpoint
    assert found['after_runner'] == dict(found['before'], getstate='o2f_core.engine',
                                         local_loader='o2f_core.engine')


def test_install_checkpoint_support_is_idempotent():
    found = _python(CHECKPOINT_STATE + (
        'from o2f_core.engine import checkpoint_support_installed, install_checkpoint_support\n'
        'flags = [checkpoint_support_installed()]\n'
        'install_checkpoint_support(); first = state()\n'
        'install_checkpoint_support(); flags.append(checkpoint_support_installed())\n'
        'print(json.dumps(dict(flags=flags, same=first == state(),\n'
        '                      module=first["local_loader"])))\n'))
    assert found == dict(flags=[False, True], same=True, module='o2f_core.engine')


def test_no_force_registration_at_import():
    for path in _sources(SRC):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if 'force=True' in line and not line.lstrip().startswith('#'):
                # the one exception: install_checkpoint_support, run on request only
                assert path.name == 'engine.py' and 'register_scheme' in line, \
                    f'{path.relative_to(REPO)}:{number}'


def test_task_packages_do_not_import_each_other_for_plumbing():
    # (the synthetic data's meta.json signature "o2f_det.synthetic" is a string, not an import)
    plumbing = re.compile(r'(from|import)\s+o2f_det\.(cli_common|synthetic|training|testing'
                          r'|data_checks|train\b)')
    for path in _sources(SRC / 'o2f-crowd', SRC / 'o2f-seg', REPO / 'tests', REPO / 'tools'):
        assert not plumbing.search(path.read_text()), path.relative_to(REPO)
    for path in _sources(SRC / 'o2f-crowd'):
        assert 'o2f_det' not in path.read_text(), path.relative_to(REPO)


# The benchmarks time test_step itself (the latency a user sees); they collect nothing.
# tools/infer.py predicts one image or video frame at a time, with no test loader.
ALSO_ALLOWED = {r'\.test_step\(': {'tools/benchmark.py', 'o2f-det/src/o2f_det/gpu_check.py',
                                   'o2f-det/src/o2f_det/deploy/inference.py'}}


@pytest.mark.parametrize('pattern,home', [
    (r'def error\(', 'o2f-core/src/o2f_core/cli.py'),  # the one-line argument parser
    (r"TASKS = |'det', 'seg', 'crowd'", 'o2f-core/src/o2f_core/cli.py'),  # the task list
    (r'os\.replace|mkstemp|NamedTemporaryFile', 'o2f-core/src/o2f_core/io.py'),  # atomic writes
    (r'\.set_with_nms\(', 'o2f-core/src/o2f_core/eval_runner.py'),  # the NMS switch
    (r'\.test_step\(', 'o2f-core/src/o2f_core/eval_runner.py'),  # collect predictions
])
def test_one_implementation_of_each_shared_helper(pattern, home):
    homes = set()
    for path in _sources(SRC, REPO / 'tools'):
        relative = str(path.relative_to(SRC)) if SRC in path.parents else str(
            path.relative_to(REPO))
        if '/models/' in relative or path.name == 'setup_env.py':
            continue  # the heads define set_with_nms; setup_env runs before the venv exists
        lines = [line for line in path.read_text().splitlines()
                 if not line.lstrip().startswith('#') and not line.lstrip().startswith('``')]
        if any(re.search(pattern, line) and '"""' not in line for line in lines):
            homes.add(relative)
    assert homes - ALSO_ALLOWED.get(pattern, set()) == {home}
