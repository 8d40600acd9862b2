"""Shared test settings: deterministic torch, one compute thread per process.

One thread: on a loaded 2-core machine, spinning OpenMP threads made a small training test 70x
slower (180 s instead of 2.6 s); no result depends on the thread count. The environment variables
reach the subprocesses some tests start (tools/train.py, torchrun).
"""

import os
import socket

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

try:
    import torch
except ImportError:  # pragma: no cover - every test environment has torch
    torch = None


@pytest.fixture(autouse=True)
def _deterministic_single_thread_torch():
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything opens a network connection (configs must build offline)."""

    def refuse(*args, **kwargs):
        raise AssertionError('a config build tried to open a network connection')

    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)


@pytest.fixture(autouse=True)
def _fresh_mmengine_loggers():
    """Forget mmengine's cached loggers after each test.

    A Runner names its logger after the start time in seconds, so two runners started within one
    second share an ``MMLogger`` whose stream handler still points at the previous test's captured
    (now closed) stderr: the next log call prints a 'Logging error' traceback into the one-line
    error that the test checks.
    """
    yield
    try:
        from mmengine.logging import MMLogger
    except ImportError:  # core tests run without mmengine
        return
    MMLogger._instance_dict.clear()
