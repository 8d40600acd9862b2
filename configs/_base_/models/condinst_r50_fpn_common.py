# The CondInst R50-FPN architecture shared by CondInst-o2f, CondInst-POTO and the CondInst
# baseline: backbone, neck, head geometry, mask branch, common test settings. Each method's own
# settings (head types, losses, assignment, train_cfg, min_bbox_size, with_nms) live in its model
# file: condinst_o2f_r50_fpn.py, condinst_poto_r50_fpn.py, condinst_r50_fpn.py. Geometry =
# the authors' configs/condinst_r50_1x.py (github strongwolf/o2f) = mmdet 3.3's CondInst.

model = dict(
    type='CondInst',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_mask=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),  # affine weights train ...
        norm_eval=True,  # ... statistics stay frozen
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_output',
        num_outs=5,
        relu_before_extra_convs=True),
    bbox_head=dict(
        num_params=169,  # dynamic mask head: (8 + 2) * 8 + 8 + 8 * 8 + 8 + 8 + 1
        num_classes=80,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        strides=[8, 16, 32, 64, 128],
        norm_on_bbox=True,
        centerness_on_reg=True,
        dcn_on_last_conv=False,
        conv_bias=True,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)),
    mask_head=dict(
        num_layers=3,
        feat_channels=8,
        size_of_interest=8,
        mask_out_stride=4,
        mask_feature_head=dict(
            in_channels=256,
            feat_channels=128,
            start_level=0,
            end_level=2,
            out_channels=8,
            mask_stride=8,
            num_stacked_convs=4,
            norm_cfg=dict(type='BN', requires_grad=True))),
    # per level the 1000 best candidates, score threshold 0.05, 100 per image, masks at 0.5;
    # box NMS at IoU 0.6 when a method turns it on (with_nms)
    test_cfg=dict(
        nms_pre=1000,
        score_thr=0.05,
        max_per_img=100,
        mask_thr=0.5,
        nms=dict(type='nms', iou_threshold=0.6)))
