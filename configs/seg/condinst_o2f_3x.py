# CondInst-o2f, ResNet-50 + FPN, 3x (36 epochs, lr x0.1 at 24 and 33), multi-scale 640-800
# training (paper Table 9, "Ours 3x"). T still runs from 0.6 to 0.2 over all 36 epochs.
_base_ = './_base_/condinst_o2f_r50_fpn.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=[(1333, 640), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[24, 33],
         gamma=0.1),
]
