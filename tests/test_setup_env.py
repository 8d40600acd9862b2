"""tools/setup_env.py: the interpreter check and the CPU / forced-CUDA variants of the mmcv build.

Everything runs on fakes in tmp_path (fake interpreters, a fake CUDA toolkit): no venv is created,
nothing is installed, no compiler runs.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / 'tools' / 'setup_env.py'


@pytest.fixture
def setup_env(monkeypatch):
    """tools/setup_env.py as a module, with no CUDA-related variable from the caller's shell."""
    for name in ('O2F_FORCE_CUDA', 'TORCH_CUDA_ARCH_LIST', 'CUDA_HOME', 'CUDA_PATH', 'O2F_PYTHON'):
        monkeypatch.delenv(name, raising=False)
    spec = importlib.util.spec_from_file_location('o2f_setup_env_under_test', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_program(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text('#!/bin/sh\n' + body + '\n')
    path.chmod(0o755)
    return path


def error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


# ----------------------------------------------------------------------------- O2F_PYTHON
@pytest.mark.parametrize('body, expected', [
    # a pyenv shim for a version that is not selected: exits 127 with a message
    ('echo "pyenv: python3.10: command not found" >&2; exit 127',
     r'is not a working Python \(exit 127: pyenv: python3\.10: command not found\); '
     r'need Python 3\.11'),
    ('echo "3 10"', r'is Python 3\.10, need Python 3\.11'),
    ('echo "hello"', r"did not report a Python version \(printed 'hello'\)"),
])
def test_wrong_o2f_python_is_one_line_exit_2(setup_env, monkeypatch, capsys, tmp_path, body,
                                             expected):
    fake = fake_program(tmp_path / 'bin', 'python3.10', body)
    monkeypatch.setenv('PATH', f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv('O2F_PYTHON', 'python3.10')
    with pytest.raises(SystemExit) as exc:
        setup_env.find_python()
    assert exc.value.code == 2
    lines = error_lines(capsys)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f'[setup] ERROR: {fake} (from python3.10) ')
    assert re.search(expected, lines[0]), lines[0]
    assert 'O2F_PYTHON' in lines[0] and '()' not in lines[0]


def test_missing_o2f_python_is_one_line_exit_2(setup_env, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv('O2F_PYTHON', str(tmp_path / 'no-such-python'))
    with pytest.raises(SystemExit) as exc:
        setup_env.find_python()
    assert exc.value.code == 2
    assert error_lines(capsys) == [
        f"[setup] ERROR: {tmp_path / 'no-such-python'} not found: install Python 3.11 or point "
        'O2F_PYTHON at a Python 3.11 interpreter']


def test_a_python_3_11_given_by_o2f_python_is_accepted(setup_env, monkeypatch, tmp_path):
    fake = fake_program(tmp_path / 'bin', 'python-ok', 'echo "3 11"')
    monkeypatch.setenv('O2F_PYTHON', str(fake))
    assert setup_env.find_python() == str(fake)


def test_make_setup_with_a_wrong_python_prints_one_line(tmp_path):
    """The issue's command end to end, on a copy of the script (no .venv, nothing installed)."""
    repo = tmp_path / 'repo'
    (repo / 'tools').mkdir(parents=True)
    for name in ('tools/setup_env.py', 'constraints.txt', 'pyproject.toml'):
        (repo / name).write_bytes((REPO / name).read_bytes())
    fake_program(tmp_path / 'bin', 'python3.10', 'echo "3 10"')
    env = {k: v for k, v in os.environ.items() if not k.startswith(('O2F_', 'CUDA', 'TORCH_CUDA'))}
    env.update(PATH=f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}", O2F_PYTHON='python3.10',
               HOME=str(tmp_path / 'home'))  # its lock file goes under this HOME
    res = subprocess.run([sys.executable, str(repo / 'tools' / 'setup_env.py')], env=env,
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"[setup] ERROR: {tmp_path / 'bin' / 'python3.10'} (from python3.10) is Python 3.10, "
        'need Python 3.11: install Python 3.11 or point O2F_PYTHON at a Python 3.11 interpreter']
    assert not (repo / '.venv').exists()


# ----------------------------------------------------------------------------- variants
def no_cuda_machine(setup_env, monkeypatch, tmp_path, nvcc: bool = False, gpu: bool = False):
    """PATH with only a fake nvcc (release 12.8) and/or a fake nvidia-smi, nothing else."""
    bin_dir = tmp_path / 'sysbin'
    bin_dir.mkdir(exist_ok=True)
    if nvcc:
        fake_program(bin_dir, 'nvcc', 'echo "Cuda compilation tools, release 12.8, V12.8.93"')
    if gpu:
        fake_program(bin_dir, 'nvidia-smi', 'echo "GPU 0: NVIDIA H100 (UUID: GPU-x)"')
    monkeypatch.setenv('PATH', str(bin_dir))


def test_cpu_machine_default_variant_is_unchanged(setup_env, monkeypatch, tmp_path):
    pins, _ = setup_env.read_pins()
    torch_version = setup_env.pinned_version(pins, 'torch')
    no_cuda_machine(setup_env, monkeypatch, tmp_path)
    # The cache key CI's wheel lives under: must not change.
    assert setup_env.detect_variant(torch_version, pins) == (f'cpu-torch{torch_version}-cp311',
                                                             False)
    monkeypatch.setenv('O2F_FORCE_CUDA', '0')
    assert setup_env.detect_variant(torch_version, pins)[1] is False
    no_cuda_machine(setup_env, monkeypatch, tmp_path, nvcc=True)  # nvcc without a GPU: still CPU
    assert setup_env.detect_variant(torch_version, pins)[1] is False


def test_gpu_machine_auto_variant(setup_env, monkeypatch, tmp_path):
    no_cuda_machine(setup_env, monkeypatch, tmp_path, nvcc=True, gpu=True)
    assert setup_env.detect_variant('2.14.1') == ('cuda12.8-torch2.14.1-cp311', True)


def test_force_cuda_without_gpu_uses_the_registry_toolkit_release(setup_env, monkeypatch,
                                                                  tmp_path):
    pins, _ = setup_env.read_pins()
    no_cuda_machine(setup_env, monkeypatch, tmp_path)
    monkeypatch.setenv('O2F_FORCE_CUDA', '1')
    variant, cuda = setup_env.detect_variant('2.14.1', pins)
    # Independent route to the CUDA release: the runtime that torch's wheel pulled in.
    runtime = setup_env.pinned_version(pins, 'nvidia-cuda-runtime')
    release = '.'.join(runtime.split('.')[:2])
    assert release == '13.0'
    assert (variant, cuda) == (f'cuda{release}-torch2.14.1-cp311-sm80-90', True)


def test_force_cuda_arch_list_knob_changes_the_cache_folder(setup_env, monkeypatch, tmp_path):
    pins, _ = setup_env.read_pins()
    no_cuda_machine(setup_env, monkeypatch, tmp_path)
    monkeypatch.setenv('O2F_FORCE_CUDA', '1')
    monkeypatch.setenv('TORCH_CUDA_ARCH_LIST', '8.6 9.0+PTX')
    assert setup_env.detect_variant('2.14.1', pins)[0] == 'cuda13.0-torch2.14.1-cp311-sm86-90ptx'
    assert setup_env.cuda_arch_list() == '8.6;9.0+PTX'


def fake_system_toolkit(tmp_path: Path, release: str) -> tuple[Path, Path]:
    """A toolkit in tmp/cuda-X/ and, as on this project's machines, a wrapper script on PATH
    (``exec .../cuda-X/bin/nvcc``): (toolkit folder, wrapper's folder)."""
    home = tmp_path / f'cuda-{release}'
    fake_program(home / 'bin', 'nvcc', 'case "$1" in\n'
                 f'  --version) echo "Cuda compilation tools, release {release}, V{release}.88";;\n'
                 f'  --dryrun) echo "#\\$ _HERE_={home}/bin" >&2;;\n'
                 'esac')
    wrapper_dir = tmp_path / 'localbin'
    fake_program(wrapper_dir, 'nvcc', f'exec {home}/bin/nvcc "$@"')
    return home, wrapper_dir


def test_force_cuda_with_a_system_nvcc_of_torchs_major_uses_it(setup_env, monkeypatch,
                                                              tmp_path):
    pins, _ = setup_env.read_pins()
    home, wrapper_dir = fake_system_toolkit(tmp_path, '13.2')
    monkeypatch.setenv('PATH', str(wrapper_dir))
    monkeypatch.setenv('O2F_FORCE_CUDA', '1')
    assert setup_env.detect_variant('2.14.1', pins)[0] == 'cuda13.2-torch2.14.1-cp311-sm80-90'
    # CUDA_HOME is the toolkit the wrapper runs, not the wrapper's parent folder
    assert setup_env.ensure_cuda_toolkit(pins) == home.resolve()
    monkeypatch.setenv('CUDA_HOME', str(home))
    monkeypatch.setenv('PATH', '/nonexistent')
    assert setup_env.ensure_cuda_toolkit(pins) == home.resolve()


def test_force_cuda_ignores_a_system_nvcc_of_another_major(setup_env, monkeypatch, tmp_path):
    pins, _ = setup_env.read_pins()
    _, wrapper_dir = fake_system_toolkit(tmp_path, '12.8')
    monkeypatch.setenv('PATH', str(wrapper_dir))
    monkeypatch.setenv('O2F_FORCE_CUDA', '1')
    assert setup_env.forced_cuda_toolkit(pins) == ('13.0', None)  # the registry's, torch's major
    assert setup_env.detect_variant('2.14.1', pins)[0] == 'cuda13.0-torch2.14.1-cp311-sm80-90'


@pytest.mark.parametrize('name, value, expected', [
    ('O2F_FORCE_CUDA', 'yes', "O2F_FORCE_CUDA='yes': use 1"),
    ('TORCH_CUDA_ARCH_LIST', 'sm_80', "TORCH_CUDA_ARCH_LIST='sm_80': ['sm_80'] is not a "
     'compute capability'),
])
def test_bad_cuda_settings_are_one_line_exit_2(setup_env, monkeypatch, capsys, tmp_path, name,
                                               value, expected):
    no_cuda_machine(setup_env, monkeypatch, tmp_path)
    monkeypatch.setenv('O2F_FORCE_CUDA', '1')
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exc:
        setup_env.detect_variant('2.14.1', setup_env.read_pins()[0])
    assert exc.value.code == 2
    lines = error_lines(capsys)
    assert len(lines) == 1 and expected in lines[0], lines


# ----------------------------------------------------------------------------- build environment
def fake_registry_toolkit(site_packages: Path) -> Path:
    """The layout of cuda-toolkit[nvcc,cccl] 13.0 in site-packages: nvidia/cu13/{bin,lib,...}."""
    home = site_packages / 'nvidia' / 'cu13'
    fake_program(home / 'bin', 'nvcc', 'echo "release 13.0"')
    (home / 'lib').mkdir(parents=True)
    (home / 'lib' / 'libcudart.so.13').write_bytes(b'\x7fELF fake')
    (home / 'include').mkdir()
    return home


def test_toolkit_home_finds_the_registry_layout(setup_env, tmp_path):
    assert setup_env.toolkit_home(tmp_path) is None
    home = fake_registry_toolkit(tmp_path)
    assert setup_env.toolkit_home(tmp_path) == home


def test_cuda_build_env(setup_env, monkeypatch, tmp_path):
    home = fake_registry_toolkit(tmp_path / 'site-packages')
    base = dict(PATH='/usr/bin', PIP_NO_INPUT='1')
    env = setup_env.mmcv_build_env(base, cuda=True, cuda_home=home,
                                   link_dir=tmp_path / 'link')
    assert env['FORCE_CUDA'] == '1' and env['MMCV_WITH_OPS'] == '1'
    assert env['CUDA_HOME'] == str(home)
    assert env['PATH'] == f"{home / 'bin'}{os.pathsep}/usr/bin"
    assert env['TORCH_CUDA_ARCH_LIST'] == '8.0;9.0'
    assert 'CUDA_VISIBLE_DEVICES' not in env
    # -lcudart must resolve although the toolkit has only the versioned library
    link = tmp_path / 'link' / 'libcudart.so'
    assert env['LIBRARY_PATH'] == str(tmp_path / 'link')
    assert link.is_symlink() and link.resolve() == (home / 'lib' / 'libcudart.so.13').resolve()
    assert base == dict(PATH='/usr/bin', PIP_NO_INPUT='1')  # the caller's dict is not changed

    monkeypatch.setenv('TORCH_CUDA_ARCH_LIST', '9.0')
    (home / 'lib' / 'libcudart.so').write_bytes(b'\x7fELF fake')  # a system-style toolkit
    env = setup_env.mmcv_build_env(base, cuda=True, cuda_home=home, link_dir=tmp_path / 'l2')
    assert env['TORCH_CUDA_ARCH_LIST'] == '9.0'
    assert 'LIBRARY_PATH' not in env and not (tmp_path / 'l2').exists()


def test_cpu_build_env_is_unchanged(setup_env, monkeypatch, tmp_path):
    monkeypatch.setenv('MAX_JOBS', '3')
    env = setup_env.mmcv_build_env(dict(PATH='/usr/bin'), cuda=False, cuda_home=None,
                                   link_dir=tmp_path / 'link')
    assert env == dict(PATH='/usr/bin', MAX_JOBS='3', MMCV_WITH_OPS='1', FORCE_CUDA='0',
                       CUDA_VISIBLE_DEVICES='')
    assert not (tmp_path / 'link').exists()


# ----------------------------------------------------------------------------- the CUDA mmcv wheel
# What the CUDA build of mmcv 2.1.0 puts into mmcv._ext for the ops o2f uses. Host side (dynamic
# symbols): the kernel launchers (*_cuda.cu) and the functions that cudabind.cpp registers as the
# CUDA implementations in mmcv's dispatcher. Device side: the kernels in each architecture's cubin.
CUDA_HOST_SYMBOLS = (
    'NMSCUDAKernelLauncher(at::Tensor, at::Tensor, float, int)',
    'nms_cuda(at::Tensor, at::Tensor, float, int)',
    'SigmoidFocalLossForwardCUDAKernelLauncher(',
    'sigmoid_focal_loss_forward_cuda(at::Tensor, at::Tensor, at::Tensor, at::Tensor, float, float)',
    'sigmoid_focal_loss_backward_cuda(',
)
CUDA_KERNELS = ('_Z8nms_cudaifiPKfPy', 'sigmoid_focal_loss_forward_cuda_kernel',
                'sigmoid_focal_loss_backward_cuda_kernel')
FATBIN_MAGIC = 0xBA55ED50


def elf_section(path: str, wanted: str) -> bytes:
    """The bytes of section WANTED of a 64-bit little-endian ELF file (b'' when absent)."""
    import struct

    data = Path(path).read_bytes()
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3A)

    def header(index):  # (name offset, file offset, size)
        base = shoff + index * shentsize
        name, = struct.unpack_from('<I', data, base)
        offset, size = struct.unpack_from('<QQ', data, base + 0x18)
        return name, offset, size

    _, names_at, _ = header(shstrndx)
    for index in range(shnum):
        name, offset, size = header(index)
        end = data.index(b'\0', names_at + name)
        if data[names_at + name:end].decode() == wanted:
            return data[offset:offset + size]
    return b''


def fatbin_cubins(section: bytes) -> dict[int, bytes]:
    """{SM version: concatenated cubins} of a .nv_fatbin section (one fat binary per .cu file:
    a 16-byte header, then entries of kind 2 = cubin / 1 = PTX with the SM version at +28)."""
    import struct

    cubins: dict[int, bytes] = {}
    offset = 0
    while offset + 16 <= len(section):
        magic, _, header_size, fat_size = struct.unpack_from('<IHHQ', section, offset)
        if magic != FATBIN_MAGIC:
            offset += 8  # blobs are 8-byte aligned
            continue
        entry, end = offset + header_size, offset + header_size + fat_size
        while entry < end:
            kind, _, entry_header, payload = struct.unpack_from('<HHII', section, entry)
            sm, = struct.unpack_from('<I', section, entry + 28)
            if kind == 2:
                body = section[entry + entry_header:entry + entry_header + payload]
                cubins[sm] = cubins.get(sm, b'') + body
            entry += entry_header + payload
        offset = end
    return cubins


def installed_cuda_mmcv():
    """(mmcv, path of its _ext library) when a CUDA build of mmcv is installed, else skip."""
    mmcv = pytest.importorskip('mmcv')
    from mmcv.ops import get_compiling_cuda_version

    if get_compiling_cuda_version() == 'not available':
        pytest.skip('the installed mmcv is a CPU-only build (O2F_FORCE_CUDA=1 builds the CUDA one)')
    import mmcv._ext as ext

    return mmcv, ext.__file__


def test_installed_cuda_mmcv_wheel_registers_cuda_kernels():
    """Without a GPU: the CUDA wheel loads, and its CUDA kernels are compiled in and registered."""
    import shutil

    _, library = installed_cuda_mmcv()
    import torch
    from mmcv.ops import get_compiling_cuda_version

    assert get_compiling_cuda_version() == torch.version.cuda  # built for torch's CUDA
    if not shutil.which('nm'):
        pytest.skip('binutils nm is not installed')
    out = subprocess.run(['nm', '-D', '-C', '--defined-only', library], capture_output=True,
                         text=True, check=True).stdout
    missing = [name for name in CUDA_HOST_SYMBOLS if name not in out]
    assert not missing, f'{library} lacks {missing}'
    cubins = fatbin_cubins(elf_section(library, '.nv_fatbin'))
    assert cubins, f'{library} has no cubin'
    for sm, code in cubins.items():
        absent = [k for k in CUDA_KERNELS if f'.text.{k}'.encode() not in code
                  and not re.search(rb'\.text\._Z\d+' + k.encode(), code)]
        assert not absent, f'sm_{sm} cubin lacks {absent}'


def test_fatbin_reader_on_a_hand_made_fat_binary():
    """The reader above on two blobs (sm_80 cubin, a PTX entry, sm_90 cubin) built by hand."""
    import struct

    def entry(kind, sm, payload):
        header = struct.pack('<HHII', kind, 0x0101, 64, len(payload)) + bytes(16)
        header += struct.pack('<I', sm)
        return header + bytes(64 - len(header)) + payload

    def blob(*entries):
        body = b''.join(entries)
        return struct.pack('<IHHQ', FATBIN_MAGIC, 1, 16, len(body)) + body

    section = blob(entry(2, 80, b'A' * 8), entry(1, 80, b'ptx')) + bytes(8) + blob(
        entry(2, 90, b'B' * 16), entry(2, 80, b'C' * 8))
    assert fatbin_cubins(section) == {80: b'A' * 8 + b'C' * 8, 90: b'B' * 16}
    assert fatbin_cubins(b'') == {}


def test_cuda_mmcv_nms_on_the_gpu_equals_cpu():
    """On a GPU machine: mmcv's CUDA nms keeps exactly the boxes its CPU nms keeps."""
    installed_cuda_mmcv()
    import torch
    from mmcv.ops import nms

    if not torch.cuda.is_available():
        pytest.skip('no CUDA GPU visible: the CUDA kernels cannot run here')
    generator = torch.Generator().manual_seed(0)
    xy = torch.rand(500, 2, generator=generator) * 300
    boxes = torch.cat([xy, xy + 20 + torch.rand(500, 2, generator=generator) * 60], dim=1)
    scores = torch.rand(500, generator=generator)
    _, keep_cpu = nms(boxes, scores, 0.5)
    _, keep_gpu = nms(boxes.cuda(), scores.cuda(), 0.5)
    assert 0 < len(keep_cpu) < 500
    assert torch.equal(keep_gpu.cpu(), keep_cpu)


# ----------------------------------------------------------------------------- --export-mmcv-wheel
def fake_mmcv_wheel(folder: Path) -> Path:
    """A wheel like mmcv's: a Python file and an extension compiled with -g (debug info)."""
    import shutil
    import zipfile

    if not (shutil.which('cc') and shutil.which('strip') and shutil.which('nm')):
        pytest.skip('needs cc, strip and nm (binutils)')
    src = folder / 'ext.c'
    src.write_text('int o2f_probe_kernel(int x) { int twice = 2 * x; return twice + 1; }\n')
    lib = folder / 'ext.so'
    subprocess.run(['cc', '-g3', '-O0', '-shared', '-fPIC', str(src), '-o', str(lib)], check=True)
    wheel = folder / 'cache' / 'cpu-torch2.14.1-cp311' / 'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl'
    wheel.parent.mkdir(parents=True)
    with zipfile.ZipFile(wheel, 'w') as zf:
        zf.writestr('mmcv/__init__.py', '__version__ = "2.1.0"\n')
        zf.write(lib, 'mmcv/_ext.cpython-311-x86_64-linux-gnu.so')
        zf.writestr('mmcv-2.1.0.dist-info/RECORD', 'stale,,\n')
    return wheel


def test_export_mmcv_wheel_strips_debug_info_and_rewrites_record(setup_env, tmp_path):
    import base64
    import hashlib
    import zipfile

    wheel = fake_mmcv_wheel(tmp_path)
    out = setup_env.export_mmcv_wheel(wheel, tmp_path / 'carry')
    assert out == (tmp_path / 'carry' / wheel.name).resolve()
    with zipfile.ZipFile(wheel) as zf:
        before = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(out) as zf:
        after = {n: zf.read(n) for n in zf.namelist()}
    so = 'mmcv/_ext.cpython-311-x86_64-linux-gnu.so'
    assert len(after[so]) < len(before[so])
    assert after['mmcv/__init__.py'] == before['mmcv/__init__.py']
    stripped = tmp_path / 'stripped.so'
    stripped.write_bytes(after[so])
    sections = subprocess.run(['readelf', '-S', '-W', str(stripped)], capture_output=True,
                              text=True, check=True).stdout
    assert '.debug_info' not in sections
    symbols = subprocess.run(['nm', '-D', '--defined-only', str(stripped)], capture_output=True,
                             text=True, check=True).stdout
    assert 'o2f_probe_kernel' in symbols
    # RECORD: every other file with its sha256 (urlsafe base64, no padding) and size
    record = after['mmcv-2.1.0.dist-info/RECORD'].decode().splitlines()
    expected = []
    for name in ('mmcv/__init__.py', so):
        digest = base64.urlsafe_b64encode(hashlib.sha256(after[name]).digest()).decode()
        expected.append(f"{name},sha256={digest.rstrip('=')},{len(after[name])}")
    assert sorted(record) == sorted([*expected, 'mmcv-2.1.0.dist-info/RECORD,,'])


def test_export_mmcv_wheel_cli(tmp_path):
    """The CLI exports the wheel of the variant's cache folder (O2F_WHEEL_CACHE) or says why not."""
    wheel = fake_mmcv_wheel(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(('O2F_', 'CUDA', 'TORCH_CUDA'))}
    env.update(O2F_WHEEL_CACHE=str(tmp_path / 'cache'), HOME=str(tmp_path / 'home'),
               PATH=os.pathsep.join(p for p in env['PATH'].split(os.pathsep)
                                    if not Path(p, 'nvidia-smi').exists()))
    cmd = [sys.executable, str(SCRIPT), '--export-mmcv-wheel', str(tmp_path / 'carry')]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / 'carry' / wheel.name).stat().st_size < wheel.stat().st_size
    env['O2F_FORCE_CUDA'] = '1'  # no CUDA wheel in this cache
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('[setup] ERROR: no cached mmcv wheel for cuda')
    res = subprocess.run([*cmd[:-1], str(wheel.parent)], env={**env, 'O2F_FORCE_CUDA': '0'},
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2  # the exported copy would replace its own input
    assert 'is the same file as the input' in res.stderr and len(res.stderr.splitlines()) == 1


# ------------------------------------------------------------------- never delete a foreign .venv
def _point_at(setup_env, monkeypatch, venv: Path) -> None:
    monkeypatch.setattr(setup_env, 'VENV', venv)
    monkeypatch.setattr(setup_env, 'STAMP', venv / '.o2f-setup-stamp.json')
    monkeypatch.setattr(setup_env, 'CREATED_MARKER', venv / '.o2f-created')


def test_a_venv_not_created_by_setup_is_never_removed(setup_env, monkeypatch, capsys, tmp_path):
    venv = tmp_path / '.venv'
    (venv / 'lib').mkdir(parents=True)
    canary = venv / 'lib' / 'my-own-package.txt'
    canary.write_text('keep me')
    _point_at(setup_env, monkeypatch, venv)
    with pytest.raises(SystemExit) as exit_info:
        setup_env.remove_venv('broken or not Python 3.11')
    assert exit_info.value.code == 2
    lines = error_lines(capsys)
    assert len(lines) == 1 and 'not created by make setup' in lines[0]
    assert canary.read_text() == 'keep me'


def test_a_venv_created_by_setup_is_recreated(setup_env, monkeypatch, tmp_path):
    venv = tmp_path / '.venv'
    venv.mkdir()
    (venv / '.o2f-created').write_text('created by tools/setup_env.py\n')
    _point_at(setup_env, monkeypatch, venv)
    setup_env.remove_venv('broken or not Python 3.11')
    assert not venv.exists()
