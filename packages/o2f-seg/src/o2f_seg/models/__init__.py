from . import dense_heads, detectors  # noqa: F401  (registers into mmdet.registry.MODELS)
