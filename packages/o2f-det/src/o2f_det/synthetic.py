"""Moved to :mod:`o2f_core.synthetic`; this name stays importable for code written against it."""

from o2f_core.synthetic import *  # noqa: F401,F403
from o2f_core.synthetic import generate_scene, read_meta, write_synthetic_dataset  # noqa: F401
