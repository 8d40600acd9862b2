"""Moved to :mod:`o2f_core.cli`; this name stays importable for code written against it."""

from o2f_core.cli import *  # noqa: F401,F403
from o2f_core.cli import CliError, OneLineArgumentParser, load_task_config  # noqa: F401
