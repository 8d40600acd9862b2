"""o2f-core: the one-to-few label assignment (and POTO's one-to-one), its losses and the T schedule.

Pure torch (POTO's Hungarian matching also calls scipy, imported on first use).

The mmengine level sits beside it and is imported only on use: :mod:`o2f_core.engine` (hooks,
checkpoint loading), :mod:`o2f_core.train_runner` / :mod:`o2f_core.eval_runner` (the train and
test command lines of every task), :mod:`o2f_core.data_checks`, :mod:`o2f_core.synthetic` (the
shapes dataset); :mod:`o2f_core.cli` and :mod:`o2f_core.io` need only the standard library. The
names below are loaded on first use (PEP 562), so that importing the package pulls in neither
torch nor mmdet: the CrowdHuman file evaluation needs only numpy and scipy.
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
