"""Reading the DRIVE retinal vessel data set and feeding it as the runtime does (retina-vessels-drive).

DRIVE (Staal et al., IEEE TMI 2004) as laid out under shared/data/drive: `{training,testing}/
images/NN_{training,test}.tif` (565x584 RGB), `1st_manual/NN_manual1.gif` (vessel masks),
`mask/NN_{training,test}_mask.gif` (field-of-view masks) and, for the test images,
`2nd_manual/NN_manual2.gif` (the second observer). Also the runtime's input normalisation and
field-of-view estimate, and the IoU used to score that estimate.
"""
import os

import numpy as np
from PIL import Image

HEIGHT, WIDTH = 584, 565


def _gif01(path):
    """Binary GIF -> bool. Decoded through the palette: the 1st_manual and mask GIFs are greyscale
    0/255, but the 2nd_manual GIFs are palette images whose raw indices are 0/1 (index 1 = white)."""
    a = np.array(Image.open(path).convert('L'))
    if a.ndim != 2:
        raise ValueError(f'{path}: expected a single-band GIF')
    return a > 127


def load_case(root, split, idx):
    """One DRIVE image from root/split ('training' or 'testing'):
    dict(id, rgb uint8 HxWx3, manual1 bool, fov bool[, manual2 bool])."""
    tag = 'training' if split == 'training' else 'test'
    d = os.path.join(root, split)
    rgb = np.array(Image.open(os.path.join(d, 'images', f'{idx:02d}_{tag}.tif')).convert('RGB'))
    case = {'id': idx, 'rgb': rgb,
            'manual1': _gif01(os.path.join(d, '1st_manual', f'{idx:02d}_manual1.gif')),
            'fov': _gif01(os.path.join(d, 'mask', f'{idx:02d}_{tag}_mask.gif'))}
    m2 = os.path.join(d, '2nd_manual', f'{idx:02d}_manual2.gif')
    if os.path.exists(m2):
        case['manual2'] = _gif01(m2)
    for k in ('manual1', 'manual2'):
        if k in case:
            frac = float(case[k][case['fov']].mean())
            if not 0.03 < frac < 0.3:
                raise ValueError(f'{split} {idx} {k}: vessel fraction {frac:.4f} inside the FOV is implausible (decoding?)')
    if rgb.shape != (HEIGHT, WIDTH, 3) or case['manual1'].shape != (HEIGHT, WIDTH) or case['fov'].shape != (HEIGHT, WIDTH):
        raise ValueError(f'{split} {idx}: unexpected size {rgb.shape}')
    return case


def to_input(rgb_uint8, mean, std):
    """HxWx3 uint8 -> [3,H,W] float32 exactly as the runtime: v/255 then (v - mean[c]) / std[c]."""
    v = rgb_uint8.astype(np.float32) / np.float32(255.0)
    m = np.asarray(mean, dtype=np.float32)[:, None, None]
    s = np.asarray(std, dtype=np.float32)[:, None, None]
    return (v.transpose(2, 0, 1) - m) / s


def fov_estimate(rgb_uint8, min_intensity):
    """The runtime's field-of-view estimate: mean of R, G, B in [0,1] >= min_intensity."""
    return rgb_uint8.astype(np.float64).sum(axis=2) / 765.0 >= min_intensity


def iou(a, b):
    return float((a & b).sum() / (a | b).sum())
