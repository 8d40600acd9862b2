from .o2f_condinst import O2FCondInst

__all__ = ['O2FCondInst']
