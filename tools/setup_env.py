#!/usr/bin/env python3
"""One-command, idempotent environment setup for o2f (run by `make setup`).

What it does, in order (each step is skipped when already done):

1. creates ``.venv`` with Python 3.11 (re-creates it when it is missing or broken);
2. installs the pinned stack from ``constraints.txt`` (the one pin file);
3. builds the mmcv 2.1.0 wheel from its sdist ONCE and caches it outside the repository in
   ``$O2F_WHEEL_CACHE`` (default ``~/.cache/o2f/wheels``), in a sub-folder per variant
   (``cpu-...`` or ``cuda<ver>-...``) so that a CPU wheel is never reused on a GPU machine;
4. installs that wheel, mmdet, the final setuptools pin and the repository itself (editable);
5. checks the imports, then writes a stamp (hash of constraints.txt + pyproject.toml, Python
   version, variant). With a valid stamp and a passing import check, a re-run takes seconds.

``O2F_FORCE_CUDA=1`` builds the CUDA variant of mmcv on a machine without a GPU (for
``TORCH_CUDA_ARCH_LIST``, default ``8.0;9.0``); without a system ``nvcc`` it installs NVIDIA's
compiler and headers from the registry (``cuda-toolkit[nvcc,cccl]``, pinned to torch's CUDA in
constraints.txt) into ``.venv`` and builds with them. Unset, nothing changes on a CPU machine.

Only the standard library is used here: this runs with the system python3.11, before .venv exists.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import NoReturn

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
VPY = VENV / "bin" / "python"
CONSTRAINTS = REPO / "constraints.txt"
PYPROJECT = REPO / "pyproject.toml"
STAMP = VENV / ".o2f-setup-stamp.json"
# Written right after `python -m venv`: only a .venv carrying it (or an older setup's stamp) is ours
# to delete and re-create; any other .venv is the user's and is never removed.
CREATED_MARKER = VENV / ".o2f-created"
MMCV_VERSION = "2.1.0"
PYTHON_WANTED = (3, 11)
# Bump when the install steps change in a way that existing environments must pick up.
SETUP_VERSION = 1

# Top-level packages; exact versions (of every dependency too) come from constraints.txt.
BASE_PACKAGES = [
    "torch",
    "torchvision",
    "numpy",
    "mmengine",
    "scipy",
    "pycocotools",
    "pytest",
    "onnx",
    "onnxruntime",
    "ruff",
    "ninja",
    "wheel",
    "psutil",  # mmdet's analysis tools (analyze_logs, benchmark) on our configs
    "seaborn",
    "msgspec",  # eval_crowd parses .odgt/result files with a typed decoder
]
# The check that a finished setup must pass (kept in sync with README.md).
VERIFY = (
    "import pkg_resources, importlib.util as u; "
    "import mmdet, mmdet.models; from mmcv.ops import nms, batched_nms; "
    "import mmengine.utils.package_utils; "
    "pkgs = ('o2f_core', 'o2f_det', 'o2f_seg', 'o2f_crowd'); "
    "missing = [p for p in pkgs if u.find_spec(p) is None]; "
    "assert not missing, f'editable install missing {missing}'"
)
# The quick check of a stamped re-run (torch's import dominates it): pkg_resources, torch with
# mmcv's compiled ops loaded against it, and mmdet, mmengine and the repo packages findable.
QUICK_CHECK = (
    "import importlib.util as u, pkg_resources, torch, mmcv._ext; "
    "pkgs = ('mmdet', 'mmengine', 'o2f_core', 'o2f_det', 'o2f_seg', 'o2f_crowd'); "
    "missing = [p for p in pkgs if u.find_spec(p) is None]; "
    "assert not missing, f'not importable: {missing}'"
)
PROGRESS_EVERY_S = 20.0
# O2F_FORCE_CUDA=1: compile for these GPU architectures unless TORCH_CUDA_ARCH_LIST says otherwise
# (A100 and H100; without a GPU torch would otherwise compile for every architecture it knows).
DEFAULT_CUDA_ARCHS = "8.0;9.0"
# The registry's CUDA compiler + headers, as extras of the `cuda-toolkit` pin in constraints.txt
# (the same pin that torch's CUDA runtime came with, so nvcc matches torch.version.cuda).
CUDA_TOOLKIT_REQUIREMENT = "cuda-toolkit[nvcc,cccl]"


def log(msg: str) -> None:
    print(f"[setup {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def die(msg: str, code: int = 1) -> NoReturn:
    print(f"[setup] ERROR: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    log("$ " + " ".join(str(c) for c in cmd))
    res = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        die(
            f"command failed (exit {res.returncode}): {' '.join(str(c) for c in cmd)}\n"
            "        Fix the cause above and re-run `make setup` (finished steps are skipped)."
        )


def pip_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1")
    env.pop("PYTHONPATH", None)
    return env


def pip(cmd: str, *args: str, env: dict[str, str] | None = None) -> None:
    """Run `pip CMD ARGS` in .venv, quietly unless O2F_VERBOSE=1 (errors always show)."""
    quiet = [] if os.environ.get("O2F_VERBOSE") == "1" else ["-q"]
    run([str(VPY), "-m", "pip", cmd, *quiet, *args], env=env or pip_env())


def read_pins() -> tuple[dict[str, str], str]:
    """Return ({name: 'name==ver'}, build_setuptools_requirement) from constraints.txt."""
    pins: dict[str, str] = {}
    build_st = ""
    for line in CONSTRAINTS.read_text().splitlines():
        m = re.match(r"^#\s*o2f-build:\s*(\S+)", line)
        if m:
            build_st = m.group(1)
            continue
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name = re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-")
        pins[name] = line
    if not build_st:
        die("constraints.txt lacks the '# o2f-build: setuptools==...' line (mmcv build)")
    for required in ("torch", "mmcv", "mmdet", "setuptools"):
        if required not in pins:
            die(f"constraints.txt has no pin for {required}")
    return pins, build_st


def pinned_version(pins: dict[str, str], name: str) -> str:
    m = re.search(r"==\s*([^\s;,]+)", pins[name])
    if not m:
        die(f"constraints.txt must pin {name} exactly (==), got {pins[name]!r}")
    return m.group(1)


# ----------------------------------------------------------------------------- python and the venv
def find_python() -> str:
    """The base interpreter for .venv: this one when it is 3.11, else O2F_PYTHON or python3.11."""
    wanted = ".".join(map(str, PYTHON_WANTED))
    if not os.environ.get("O2F_PYTHON") and sys.version_info[:2] == PYTHON_WANTED:
        return sys.executable
    cand = os.environ.get("O2F_PYTHON") or "python3.11"
    exe = shutil.which(cand) or (cand if Path(cand).exists() else None)
    if not exe and not os.environ.get("O2F_PYTHON"):  # not on PATH: the usual install places
        found = sorted(Path.home().glob(".pyenv/versions/3.11*/bin/python3.11"), reverse=True)
        found += [
            p for p in map(Path, ("/usr/local/bin/python3.11", "/usr/bin/python3.11")) if p.exists()
        ]
        exe = str(found[0]) if found else None
    fix = f"install Python {wanted} or point O2F_PYTHON at a Python {wanted} interpreter"
    if not exe:
        die(f"{cand} not found: {fix}", code=2)
    try:
        out = subprocess.run(
            [exe, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        die(f"{exe} (from {cand}) could not be run ({type(err).__name__}: {err}); {fix}", code=2)
    named = "" if cand == exe else f" (from {cand})"
    if out.returncode != 0:
        # e.g. a pyenv shim for a version that is not installed: say what it printed, on one line
        said = " ".join((out.stderr or out.stdout).split())[:120] or "no output"
        die(
            f"{exe}{named} is not a working Python (exit {out.returncode}: {said}); "
            f"need Python {wanted}: {fix}",
            code=2,
        )
    try:
        ver = tuple(int(x) for x in out.stdout.split())
    except ValueError:
        ver = ()
    if len(ver) != 2:
        said = " ".join(out.stdout.split())[:200]
        die(f"{exe}{named} did not report a Python version (printed {said!r}); {fix}", code=2)
    if ver != PYTHON_WANTED:
        die(f"{exe}{named} is Python {ver[0]}.{ver[1]}, need Python {wanted}: {fix}", code=2)
    return exe


def venv_python_ok() -> bool:
    if not VPY.exists():
        return False
    res = subprocess.run(
        [str(VPY), "-c", "import sys, pip; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
    )
    return res.returncode == 0 and tuple(map(int, res.stdout.split())) == PYTHON_WANTED


def remove_venv(why: str) -> None:
    """Delete .venv (to re-create it), but only when this script created it."""
    if VENV.is_symlink() or not (CREATED_MARKER.exists() or STAMP.exists()):
        die(f"{VENV} is {why}, and it was not created by make setup (no {CREATED_MARKER.name}): "
            "it is left as it is; move it away or fix it, then run make setup again", code=2)
    log(f"removing {VENV} ({why}); it is created again from scratch")
    shutil.rmtree(VENV)


def ensure_venv(base_python: str) -> bool:
    """Create .venv unless a working Python 3.11 one is there; return True if it was created."""
    if venv_python_ok():
        return False
    if VENV.exists():
        remove_venv("broken or not Python 3.11")
    log(f"creating {VENV} with {base_python}")
    run([base_python, "-m", "venv", str(VENV)])
    CREATED_MARKER.write_text("created by tools/setup_env.py\n")
    return True


# ----------------------------------------------------------------------------- variant (cpu / cuda)
def force_cuda_requested() -> bool:
    """O2F_FORCE_CUDA: '1' builds the CUDA variant without a GPU; unset/'0' keeps auto-detection."""
    value = os.environ.get("O2F_FORCE_CUDA", "").strip()
    if value not in ("", "0", "1"):
        die(f"O2F_FORCE_CUDA={value!r}: use 1 (build the CUDA variant) or 0/unset (auto)", code=2)
    return value == "1"


def cuda_arch_list() -> str:
    """TORCH_CUDA_ARCH_LIST for a forced CUDA build, validated ('8.0;9.0', '8.6+PTX', ...)."""
    raw = os.environ.get("TORCH_CUDA_ARCH_LIST", "").strip() or DEFAULT_CUDA_ARCHS
    archs = [a for a in re.split(r"[;\s]+", raw) if a]
    bad = [a for a in archs if not re.fullmatch(r"\d+\.\d+[af]?(\+PTX)?", a)]
    if bad or not archs:
        die(
            f"TORCH_CUDA_ARCH_LIST={raw!r}: {bad or 'empty'} is not a compute capability; "
            "use e.g. '8.0;9.0' or '8.6+PTX'",
            code=2,
        )
    return ";".join(archs)


def arch_tag(archs: str) -> str:
    """'8.0;9.0' -> 'sm80-90', '8.6+PTX' -> 'sm86ptx': part of the cache folder's name."""
    parts = [a.replace(".", "").replace("+PTX", "ptx") for a in archs.split(";")]
    return "sm" + "-".join(parts)


def find_system_nvcc() -> str | None:
    """nvcc of an installed CUDA toolkit: $CUDA_HOME/bin/nvcc first (torch's order), then PATH."""
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if home and (Path(home) / "bin" / "nvcc").exists():
        return str(Path(home) / "bin" / "nvcc")
    return shutil.which("nvcc")


def nvcc_release(nvcc: str) -> str:
    out = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"release (\d+\.\d+)", out)
    return m.group(1) if m else "unknown"


def pip_toolkit_release(pins: dict[str, str]) -> str:
    """CUDA release ('13.0') of the registry toolkit that O2F_FORCE_CUDA installs (constraints)."""
    if "cuda-toolkit" not in pins:
        die("O2F_FORCE_CUDA=1 without a system nvcc needs a cuda-toolkit pin in constraints.txt")
    return ".".join(pinned_version(pins, "cuda-toolkit").split(".")[:2])


def forced_cuda_toolkit(pins: dict[str, str]) -> tuple[str, str | None]:
    """(CUDA release, system nvcc or None for the registry toolkit) of an O2F_FORCE_CUDA build.

    A system nvcc is used when its major release is torch's (the cuda-toolkit pin): torch refuses
    to build extensions across CUDA majors. Otherwise the registry toolkit of that pin is used.
    """
    nvcc = find_system_nvcc()
    if nvcc and "cuda-toolkit" in pins:
        wanted = pip_toolkit_release(pins)
        found = nvcc_release(nvcc)
        if found.split(".")[0] != wanted.split(".")[0]:
            log(f"ignoring {nvcc} (CUDA {found}): torch needs CUDA {wanted}; using the registry's")
            nvcc = None
    if nvcc:
        return nvcc_release(nvcc), nvcc
    return pip_toolkit_release(pins), None


def cuda_home_of(nvcc: str) -> Path:
    """The toolkit folder of NVCC, also through a wrapper script (nvcc --dryrun names it)."""
    res = subprocess.run(
        [nvcc, "--dryrun", "-c", "o2f-probe.cu"], capture_output=True, text=True, timeout=60
    )
    m = re.search(r"^#\$ _HERE_=(.+)$", res.stdout + res.stderr, re.MULTILINE)
    if m:
        return Path(m.group(1).strip()).resolve().parent
    return Path(nvcc).resolve().parent.parent


def gpu_present() -> bool:
    if not shutil.which("nvidia-smi"):
        return False
    try:
        res = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0 and "GPU" in res.stdout


def detect_variant(torch_version: str, pins: dict[str, str] | None = None) -> tuple[str, bool]:
    """('cpu-torch2.14.1-cp311', False) or ('cuda12.4-torch2.14.1-cp311', True).

    Default: CUDA only when nvcc and a GPU are both present (unchanged). O2F_FORCE_CUDA=1: CUDA
    without a GPU, for TORCH_CUDA_ARCH_LIST, e.g. 'cuda13.0-torch2.14.1-cp311-sm80-90'; the arch
    list is part of the name because such a wheel has no kernels for other GPUs.
    """
    tag = f"torch{torch_version}-cp{PYTHON_WANTED[0]}{PYTHON_WANTED[1]}"
    if force_cuda_requested():
        release, _ = forced_cuda_toolkit(pins or {})
        return f"cuda{release}-{tag}-{arch_tag(cuda_arch_list())}", True
    nvcc = find_system_nvcc()
    if nvcc and gpu_present():
        return f"cuda{nvcc_release(nvcc)}-{tag}", True
    return f"cpu-{tag}", False


def venv_site_packages() -> Path:
    out = subprocess.run(
        [str(VPY), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        env=pip_env(),
    )
    if out.returncode != 0:
        die(f"cannot ask {VPY} for its site-packages: {out.stderr.strip()[-500:]}")
    return Path(out.stdout.strip())


def toolkit_home(site_packages: Path) -> Path | None:
    """The CUDA_HOME-like tree of the registry toolkit (nvidia/cu13/{bin,include,lib,nvvm})."""
    homes = sorted(p.parent.parent for p in site_packages.glob("nvidia/cu*/bin/nvcc"))
    return homes[-1] if homes else None


def ensure_cuda_toolkit(pins: dict[str, str]) -> Path:
    """CUDA_HOME for a forced CUDA build: a system toolkit, else the registry one in .venv."""
    _, nvcc = forced_cuda_toolkit(pins)
    if nvcc:
        return cuda_home_of(nvcc)
    home = toolkit_home(venv_site_packages())
    if home is None:
        log(f"no nvcc on this machine: installing {CUDA_TOOLKIT_REQUIREMENT} (~0.2 GB) into .venv")
        pip("install", "-c", str(CONSTRAINTS), CUDA_TOOLKIT_REQUIREMENT)
        home = toolkit_home(venv_site_packages())
    if home is None:
        die(f"{CUDA_TOOLKIT_REQUIREMENT} installed no nvidia/cu*/bin/nvcc in .venv")
    return home


def cuda_build_env(env: dict[str, str], cuda_home: Path, link_dir: Path) -> dict[str, str]:
    """Environment for mmcv's FORCE_CUDA build with the toolkit at CUDA_HOME.

    The registry's toolkit ships only ``libcudart.so.13`` (no ``libcudart.so``) in ``lib/``: a
    symlink in LINK_DIR, put on LIBRARY_PATH, lets ``-lcudart`` resolve at link time; the
    extension still records the versioned soname, which torch's own runtime package provides.
    """
    env = dict(env)
    env.update(
        FORCE_CUDA="1",
        CUDA_HOME=str(cuda_home),
        TORCH_CUDA_ARCH_LIST=cuda_arch_list(),
        PATH=os.pathsep.join([str(cuda_home / "bin"), env.get("PATH", "")]),
    )
    lib = cuda_home / "lib64" if (cuda_home / "lib64").is_dir() else cuda_home / "lib"
    if not (lib / "libcudart.so").exists():
        versioned = sorted(lib.glob("libcudart.so.*"))
        if versioned:
            link_dir.mkdir(parents=True, exist_ok=True)
            link = link_dir / "libcudart.so"
            if not link.is_symlink():
                link.symlink_to(versioned[-1])
            env["LIBRARY_PATH"] = os.pathsep.join(
                p for p in (str(link_dir), env.get("LIBRARY_PATH", "")) if p
            )
    return env


# ----------------------------------------------------------------------------- the mmcv wheel
def wheel_cache_root() -> Path:
    return Path(os.environ.get("O2F_WHEEL_CACHE") or Path.home() / ".cache" / "o2f" / "wheels")


def cached_mmcv_wheel(cache: Path) -> Path | None:
    wheels = sorted(cache.glob(f"mmcv-{MMCV_VERSION}-*.whl"))
    return wheels[-1] if wheels else None


def count_sources(src: Path, cuda: bool) -> int:
    csrc = src / "mmcv" / "ops" / "csrc"
    n = len(list((csrc / "pytorch").glob("*.cpp")))
    n += len(list((csrc / "pytorch" / "cpu").glob("*.cpp")))
    if cuda:
        n += len(list((csrc / "pytorch" / "cuda").glob("*.cu")))
        n += len(list((csrc / "pytorch" / "cuda").glob("*.cpp")))
    return n


ERROR_LINE = re.compile(r"^\s*FAILED: |error:|Error:|fatal|Killed|No space left", re.IGNORECASE)


def report_build_failure(log_path: Path) -> None:
    """Print the log lines that name the error (compiler/ninja), then the log's last lines."""
    lines = log_path.read_text(errors="replace").splitlines()
    errors = []
    for line in lines:
        if ERROR_LINE.search(line) and line not in errors:
            errors.append(line)
    out = ["", "---- error lines in the mmcv build log (first 15) ----", *errors[:15]]
    out += ["---- last lines of the mmcv build log ----", *lines[-25:], "-" * 42]
    print("\n".join(out), file=sys.stderr, flush=True)


def mmcv_build_env(
    env: dict[str, str], cuda: bool, cuda_home: Path | None, link_dir: Path
) -> dict[str, str]:
    """The environment of mmcv's `pip wheel`: CPU-only, CUDA (auto), or CUDA with CUDA_HOME."""
    build_env = dict(
        env, MAX_JOBS=os.environ.get("MAX_JOBS", str(os.cpu_count() or 2)), MMCV_WITH_OPS="1"
    )
    if cuda and cuda_home is not None:
        return cuda_build_env(build_env, cuda_home, link_dir)
    if cuda:
        build_env["FORCE_CUDA"] = "1"
    else:
        build_env["FORCE_CUDA"] = "0"
        build_env["CUDA_VISIBLE_DEVICES"] = ""  # mmcv builds CUDA ops whenever torch sees a GPU
    return build_env


def build_mmcv_wheel(
    cache: Path, cuda: bool, build_setuptools: str, cuda_home: Path | None = None
) -> Path:
    """Build mmcv from its sdist into CACHE; CUDA_HOME (forced CUDA builds) names the toolkit."""
    cache.mkdir(parents=True, exist_ok=True)
    logs = cache.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"mmcv-{MMCV_VERSION}-{cache.name}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    env = pip_env()
    # mmcv's setup.py (run by `pip download` to read its metadata, and by the build) imports
    # pkg_resources, which setuptools>=70 broke for it: pin the build setuptools first.
    log(
        f"installing {build_setuptools} for the build (pip warns that torch wants setuptools>=77: "
        "expected, setup re-pins it after the build)"
    )
    pip("install", build_setuptools)
    tmp = Path(tempfile.mkdtemp(prefix="o2f-mmcv-build-"))  # outside the repo, never on sys.path
    keep_tmp = False
    try:
        pip(
            "download",
            "--no-deps",
            "--no-build-isolation",
            "--no-binary",
            ":all:",
            "-d",
            str(tmp),
            f"mmcv=={MMCV_VERSION}",
            env=env,
        )
        sdists = list(tmp.glob(f"mmcv-{MMCV_VERSION}.tar.gz"))
        if not sdists:
            die(f"pip download gave no mmcv-{MMCV_VERSION}.tar.gz in {tmp}")
        with tarfile.open(sdists[0]) as tf:
            try:
                tf.extractall(tmp, filter="data")
            except TypeError:  # Python < 3.11.4 has no extraction filters
                tf.extractall(tmp)
        src = tmp / f"mmcv-{MMCV_VERSION}"
        setup_py = src / "setup.py"
        text = setup_py.read_text()
        if "'-std=c++17'" not in text:
            die("mmcv's setup.py no longer contains '-std=c++17': the C++20 patch needs a look")
        setup_py.write_text(text.replace("'-std=c++17'", "'-std=c++20'"))  # torch 2.14 needs C++20

        build_env = mmcv_build_env(env, cuda, cuda_home, tmp / "cuda-link")
        if cuda_home is not None:
            log(
                f"CUDA build with CUDA_HOME={cuda_home}, "
                f"TORCH_CUDA_ARCH_LIST={build_env['TORCH_CUDA_ARCH_LIST']}"
            )
        total = count_sources(src, cuda)
        kind = "CUDA+CPU" if cuda else "CPU-only"
        took = "1-3 h (nvcc)" if cuda else "12 min"
        log(
            f"building the mmcv {MMCV_VERSION} wheel ({kind}, ~{total} objects, MAX_JOBS="
            f"{build_env['MAX_JOBS']}); about {took} on 2 cores. Log: {log_path}"
        )
        out_dir = tmp / "wheel"
        cmd = [
            str(VPY),
            "-m",
            "pip",
            "wheel",
            "--no-build-isolation",
            "--no-deps",
            "-v",
            "-w",
            str(out_dir),
            ".",
        ]
        t0 = time.monotonic()
        with open(log_path, "w") as fh:
            fh.write("$ " + " ".join(cmd) + f"\n(cwd {src})\n")
            fh.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=src,
                env=build_env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            while True:
                try:
                    rc = proc.wait(timeout=PROGRESS_EVERY_S)
                    break
                except subprocess.TimeoutExpired:
                    done = sum(1 for _ in (src / "build").rglob("*.o"))
                    el = int(time.monotonic() - t0)
                    eta = ""
                    if 0 < done < total:
                        left = int(el * (total - done) / done)
                        eta = f", ~{left // 60}m{left % 60:02d}s left"
                    elif done >= total:
                        eta = ", linking"
                    log(
                        f"mmcv build: {el // 60}m{el % 60:02d}s elapsed, {done}/{total} objects "
                        f"compiled{eta}"
                    )
        el = int(time.monotonic() - t0)
        if rc != 0:
            keep_tmp = True
            report_build_failure(log_path)
            die(
                f"the mmcv {MMCV_VERSION} wheel build failed after {el // 60}m{el % 60:02d}s "
                f"(exit {rc}).\n        Full log: {log_path}\n        Sources kept in: {src}\n"
                "        Retry: fix the cause, then run `make setup` again (it rebuilds from a "
                "fresh sdist); on a small machine try `MAX_JOBS=1 make setup`."
            )
        wheels = list(out_dir.glob(f"mmcv-{MMCV_VERSION}-*.whl"))
        if not wheels:
            keep_tmp = True
            die(f"the mmcv build reported success but left no wheel in {out_dir}; log: {log_path}")
        dest = cache / wheels[0].name
        shutil.copy2(wheels[0], dest.with_suffix(".part"))
        os.replace(dest.with_suffix(".part"), dest)  # atomic: a half-copied wheel is never cached
        log(f"mmcv wheel built in {el // 60}m{el % 60:02d}s and cached: {dest}")
        return dest
    finally:
        if not keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- carrying the wheel
def o2f_io():
    """o2f_core.io (standard library only) loaded from its file: o2f_core itself imports torch,
    which the system Python running this script does not have."""
    import importlib.util

    path = REPO / "packages" / "o2f-core" / "src" / "o2f_core" / "io.py"
    spec = importlib.util.spec_from_file_location("o2f_core_io_for_setup", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def export_mmcv_wheel(wheel: Path, out_dir: Path) -> Path:
    """Write WHEEL to OUT_DIR with the debug info stripped from its compiled extensions.

    mmcv's build compiles with -g: the CPU wheel is 32 MB, 1.4 MB stripped (``strip
    --strip-debug`` keeps the dynamic symbols and the CUDA fat binaries). The copy, for carrying
    to a machine without network, gets a RECORD that matches its files, and is written atomically.
    """
    strip = shutil.which("strip")
    if not strip:
        die("`strip` (binutils) not found: install binutils to export the wheel", code=2)
    io = o2f_io()
    try:
        target = io.check_output_path(
            out_dir / wheel.name, inputs=[wheel], what="the exported wheel"
        )
    except io.UnsafeOutputError as err:
        die(str(err), code=2)
    files: dict[str, bytes] = {}
    record_name = ""
    with zipfile.ZipFile(wheel) as zin, tempfile.TemporaryDirectory(prefix="o2f-strip-") as tmp:
        for name in zin.namelist():
            data = zin.read(name)
            if name.endswith(".dist-info/RECORD"):
                record_name = name
                continue
            if re.search(r"\.so(\.\d+)*$", name):
                so = Path(tmp) / "lib.so"
                so.write_bytes(data)
                subprocess.run([strip, "--strip-debug", str(so)], check=True)
                data = so.read_bytes()
            files[name] = data
    if not record_name:
        die(f"{wheel} is not a wheel (no .dist-info/RECORD)", code=2)
    lines = [f"{name},{_record_hash(data)},{len(data)}" for name, data in files.items()]
    files[record_name] = ("\n".join([*lines, f"{record_name},,"]) + "\n").encode()
    with io.atomic_output(target, inputs=[wheel], what="the exported wheel") as tmp_path:
        with zipfile.ZipFile(tmp_path, "w", zipfile.ZIP_DEFLATED) as zout:
            for name, data in files.items():
                zout.writestr(name, data)
    return Path(target)


# ----------------------------------------------------------------------------- stamp and checks
def stamp_key(variant: str) -> dict[str, str]:
    h = hashlib.sha256()
    for p in (CONSTRAINTS, PYPROJECT):
        h.update(p.read_bytes())
    return {
        "inputs_sha256": h.hexdigest(),
        "setup_version": SETUP_VERSION,
        "python": "{}.{}".format(*PYTHON_WANTED),
        "variant": variant,
    }


def check(code: str) -> tuple[bool, str]:
    res = subprocess.run(
        [str(VPY), "-c", code],
        capture_output=True,
        text=True,
        cwd=VENV,  # not in the repo: nothing there may shadow a package
        env=pip_env(),
        stdin=subprocess.DEVNULL,
    )
    return res.returncode == 0, (res.stdout + res.stderr).strip()


@contextlib.contextmanager
def setup_lock():
    """Serialise concurrent `make setup` runs on this checkout (the machine may be shared)."""
    lock_dir = Path.home() / ".cache" / "o2f" / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(str(REPO).encode()).hexdigest()[:16]
    with open(lock_dir / f"{name}.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another `make setup` is running on this checkout: waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def install(pins: dict[str, str], variant: str, cuda: bool, build_st: str) -> Path:
    """Install everything into .venv; return the mmcv wheel used."""
    c = ["-c", str(CONSTRAINTS)]
    log(f"variant: {variant}  (FORCE_CUDA={'1' if cuda else '0'} for the mmcv build)")
    log("installing the pinned packages (on a fresh .venv: 1-4 min, mostly torch)")
    pip("install", *c, *BASE_PACKAGES, "setuptools")

    cache = wheel_cache_root() / variant
    with open(_mkparent(cache.parent / f".{variant}.lock"), "w") as fh:  # one build per cache
        fcntl.flock(fh, fcntl.LOCK_EX)
        wheel = cached_mmcv_wheel(cache)
        if wheel:
            log(f"using the cached mmcv wheel {wheel}")
        else:
            cuda_home = ensure_cuda_toolkit(pins) if cuda and force_cuda_requested() else None
            wheel = build_mmcv_wheel(cache, cuda, build_st, cuda_home)
    log("installing mmcv, mmdet, the final setuptools and this repository (editable)")
    # Always this wheel, even over an installed mmcv 2.1.0 (which may be the other variant's build).
    pip("install", *c, "--force-reinstall", "--no-deps", str(wheel))
    pip("install", *c, str(wheel), pins["mmdet"])
    # The end state: setuptools >=77 for torch, <82 for mmengine's pkg_resources import.
    pip("install", *c, pins["setuptools"])
    pip("install", *c, "--no-build-isolation", "--no-deps", "-e", str(REPO))
    return wheel


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--force", action="store_true", help="ignore the stamp and re-run every step")
    ap.add_argument(
        "--export-mmcv-wheel",
        metavar="DIR",
        type=Path,
        help="only write the cached mmcv wheel of this variant (O2F_FORCE_CUDA, "
        "TORCH_CUDA_ARCH_LIST) to DIR with debug info stripped, for a machine without network",
    )
    args = ap.parse_args()
    t0 = time.monotonic()
    pins, build_st = read_pins()
    torch_version = pinned_version(pins, "torch")
    variant, cuda = detect_variant(torch_version, pins)
    if args.export_mmcv_wheel is not None:
        cache = wheel_cache_root() / variant
        wheel = cached_mmcv_wheel(cache)
        if wheel is None:
            die(
                f"no cached mmcv wheel for {variant} in {cache}: run `make setup` with the same "
                "O2F_FORCE_CUDA / TORCH_CUDA_ARCH_LIST first",
                code=2,
            )
        out = export_mmcv_wheel(wheel, args.export_mmcv_wheel)
        mib = [p.stat().st_size / 2**20 for p in (wheel, out)]
        log(f"wrote {out} ({mib[1]:.1f} MiB; the cached wheel is {mib[0]:.1f} MiB)")
        return 0

    with setup_lock():
        fresh = False  # True once .venv was created by this run
        if not args.force and venv_python_ok() and STAMP.exists():
            try:
                stamped = json.loads(STAMP.read_text())
            except ValueError:
                stamped = {}
            if stamped == stamp_key(variant):
                ok, out = check(QUICK_CHECK)
                if ok:
                    log(f"environment up to date ({variant}); {time.monotonic() - t0:.1f}s")
                    return 0
                # Something inside .venv broke after a good setup: re-install over it first
                # (below); if that does not help either, .venv is created from scratch.
                log(f"the import check of the stamped .venv failed, repairing:\n{out[-2000:]}")
        STAMP.unlink(missing_ok=True)

        while True:
            fresh = ensure_venv(find_python()) or fresh
            wheel = install(pins, variant, cuda, build_st)
            ok, out = check(VERIFY)
            if ok:
                break
            if fresh:
                die(
                    f"the installed stack fails its import check:\n{out[-3000:]}\n"
                    f"        If mmcv fails to load, delete the cached wheel {wheel} and re-run "
                    "`make setup` to rebuild it."
                )
            log(f"the import check failed:\n{out[-2000:]}")
            remove_venv("an install over the existing one did not repair it")
        STAMP.write_text(json.dumps(stamp_key(variant)))
        log(f"done in {time.monotonic() - t0:.0f}s: {VENV} ({variant})")
    return 0


def _mkparent(p: Path) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


if __name__ == "__main__":
    sys.exit(main())
