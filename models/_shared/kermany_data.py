"""Reading the Kermany chest radiographs (kermany-cxr-224) as the service feeds them to the pneumonia models.

shared/data/kermany-cxr-224/{train,test}/{NORMAL,PNEUMONIA}/*.jpeg: the ChestXRay2017 images
(Kermany et al., Cell 2018), each whole radiograph squashed to 224x224. Label 0 = NORMAL,
1 = PNEUMONIA; files are listed sorted, NORMAL first.

Two runtime paths, one per model:
  * pneumonia-cxr-224: float BT.601 grey of RGB/255 (`grey_bt601`), no resize, (v - 0.5) / 0.5;
  * pneumonia-cxr-28: PIL's 8-bit convert('L'), /255, exact 8x8 block mean to 28x28 (the area
    resize, `area_28`), (v - 0.5) / 0.5.
"""
import glob
import os

import numpy as np
from PIL import Image

MEAN, STD = 0.5, 0.5
BT601 = (0.299, 0.587, 0.114)


def kermany_files(root, split):
    """Sorted JPEG paths of root/split (NORMAL, then PNEUMONIA) and their labels (int64, 1 = pneumonia)."""
    fs = sorted(glob.glob(os.path.join(root, split, 'NORMAL', '*.jpeg'))) + \
        sorted(glob.glob(os.path.join(root, split, 'PNEUMONIA', '*.jpeg')))
    labels = np.array([0 if os.sep + 'NORMAL' + os.sep in f else 1 for f in fs], dtype=np.int64)
    return fs, labels


def grey_bt601(path):
    """float64 grey in [0,1]: 8-bit greyscale as stored, else 0.299 R + 0.587 G + 0.114 B of RGB/255."""
    im = Image.open(path)
    if im.mode == 'L':
        return np.asarray(im, dtype=np.float64) / 255.0
    rgb = np.asarray(im.convert('RGB'), dtype=np.float64) / 255.0
    return BT601[0] * rgb[..., 0] + BT601[1] * rgb[..., 1] + BT601[2] * rgb[..., 2]


def jpeg_to_input(path):
    """224x224 JPEG -> pneumonia-cxr-224 input [1,224,224], float64, as the runtime computes it."""
    v = grey_bt601(path)
    if v.shape != (224, 224):
        raise ValueError(f'{path}: expected 224x224, got {v.shape}')
    return ((v - MEAN) / STD)[None]


def area_28(gray):
    """224x224 8-bit grey values (any numeric dtype) -> [28,28] float64 in [0,1]: v/255, then the
    exact 8x8 block mean (the area resize)."""
    v = np.asarray(gray, dtype=np.float64) / 255.0
    if v.shape != (224, 224):
        raise ValueError('expects 224x224')
    return v.reshape(28, 8, 28, 8).mean(axis=(1, 3))


def gray224_to_input(gray_uint8):
    """224x224 8-bit grey -> pneumonia-cxr-28 input [1,28,28], float64, as the runtime computes it."""
    return ((area_28(gray_uint8) - MEAN) / STD)[None]
