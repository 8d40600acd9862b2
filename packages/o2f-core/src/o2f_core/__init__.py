"""o2f-core: the one-to-few label assignment (and POTO's one-to-one), its losses and the T schedule.

Pure torch (POTO's Hungarian matching also calls scipy, imported on first use).

The mmengine glue (temperature hook, checkpoint loading) lives in :mod:`o2f_core.engine`, which
is imported only by the packages that train with mmengine. The names below are loaded on first
use (PEP 562), so that :mod:`o2f_core.io` (standard library only) does not import torch: the
CrowdHuman file evaluation writes its outputs with it and needs only numpy and scipy.
"""

import importlib

_LAZY = {
    "O2FAssigner": ".assigner",
    "O2FAssignResult": ".assigner",
    "PAPER_PRESET": ".assigner",
    "OFFICIAL_PRESET": ".assigner",
    "OFFICIAL_CROWDHUMAN_PRESET": ".assigner",
    "POTOAssigner": ".poto",
    "linear_temperature": ".schedule",
    "iteration_temperature": ".schedule",
}

__all__ = list(_LAZY)
__version__ = "0.1.0"


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])
