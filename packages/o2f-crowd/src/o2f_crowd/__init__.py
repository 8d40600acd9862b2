"""o2f-crowd: CrowdHuman for o2f (dataset, evaluator, metric, configs).

Importing ``o2f_crowd`` or ``o2f_crowd.evaluation`` needs only numpy, scipy and the standard
library.
The mmdet registrations live in submodules that configs import through ``custom_imports``:
``o2f_crowd.datasets`` (``O2FCrowdHumanDataset``) and ``o2f_crowd.metrics``
(``O2FCrowdHumanMetric``).
"""

from .evaluation import OdgtFormatError, evaluate, load_odgt

__all__ = ["OdgtFormatError", "evaluate", "load_odgt"]
