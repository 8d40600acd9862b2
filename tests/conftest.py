"""Shared test settings: deterministic torch, CPU threads kept small for the 2-core CI machine."""

import pytest

try:
    import torch
except ImportError:  # pragma: no cover - every test environment has torch
    torch = None


@pytest.fixture(autouse=True)
def _seed_torch():
    if torch is not None:
        torch.manual_seed(0)
    yield
