"""The paper's experiments: the table runner of ``tools/reproduce.py``."""
