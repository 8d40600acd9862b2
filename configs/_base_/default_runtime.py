# Runtime of every det/crowd config: mmdet's (hooks, logging, env), plus the import that registers
# the o2f heads and hooks. Owns: default_scope, default_hooks, env_cfg, vis_backends, visualizer,
# log_processor, log_level, load_from, resume, custom_imports. CrowdHuman leaves extend
# custom_imports with the o2f_crowd dataset and metric.
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['o2f_det'], allow_failed_imports=False)
