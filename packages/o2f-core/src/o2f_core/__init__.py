"""o2f-core: the one-to-few label assignment (and POTO's one-to-one), its losses and the T schedule.

Pure torch (POTO's Hungarian matching also calls scipy, imported on first use).

The mmengine glue (temperature hook, checkpoint loading) lives in :mod:`o2f_core.engine`, which
is imported only by the packages that train with mmengine.
"""

from .assigner import (
                       OFFICIAL_CROWDHUMAN_PRESET,
                       OFFICIAL_PRESET,
                       PAPER_PRESET,
                       O2FAssigner,
                       O2FAssignResult,
)
from .poto import POTOAssigner
from .schedule import iteration_temperature, linear_temperature

__all__ = [
    "O2FAssigner",
    "O2FAssignResult",
    "POTOAssigner",
    "PAPER_PRESET",
    "OFFICIAL_PRESET",
    "OFFICIAL_CROWDHUMAN_PRESET",
    "linear_temperature",
    "iteration_temperature",
]
__version__ = "0.1.0"
