"""ACDC cine-MRI short-axis reader and the exact input preprocessing of cardiac-mri-sax-seg.

Data: shared/data/acdc/ (see its README.md): `acdc_{train,val}.npz`, every ED/ES image and label
volume flattened and concatenated with an offset index; images are uint16 = round(v * 4095) of a
per-volume min-max-normalised float in [0, 1]. RESEARCH USE ONLY: nothing read here may be
written into the repository (arrays, previews, per-patient masks); only aggregate numbers.

Preprocessing of one short-axis slice (what the service does for `windowing: minmax`,
`resize: area`, `normalization`):
  1. v = (s - min(s)) / (max(s) - min(s)) over the slice (a constant slice gives 0);
  2. area resize to SIZE x SIZE, separable, aspect ratio NOT kept (each axis scaled on its own):
     box averaging on an axis that shrinks (output pixel o covers source [o*r, (o+1)*r), weights
     = overlaps / r), bilinear with half-pixel centres on an axis that grows, a copy otherwise;
     horizontal pass first in float64, then vertical, rounded once to float32
     (= src/image/resize.ts);
  3. (v - MEAN) / STD.
"""
import csv
import os

import numpy as np

LABELS = {0: 'background', 1: 'rv_cavity', 2: 'lv_myocardium', 3: 'lv_cavity'}


def data_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get('ACDC_DATA_DIR', os.path.join(here, '..', '..', '..', 'shared', 'data', 'acdc'))


def load_split(split, root=None):
    """List of patients: {'id', 'shape', 'ed_image', 'es_image' (Z,H,W float32 in [0,1]),
    'ed_label', 'es_label' (Z,H,W uint8), 'lv_ef' (float, %)}."""
    root = root or data_dir()
    z = np.load(os.path.join(root, f'acdc_{split}.npz'))
    arrays = {k: z[k] for k in ('ed_image', 'es_image', 'ed_label', 'es_label')}
    off, shapes, ids, ef = z['offsets'], z['shape'], z['patient'], z['lv_ef']
    out = []
    for i in range(len(ids)):
        shp = tuple(int(v) for v in shapes[i])
        p = {'id': str(ids[i]), 'shape': shp, 'lv_ef': float(ef[i])}
        for k, a in arrays.items():
            v = a[off[i]:off[i + 1]].reshape(shp)
            p[k] = v.astype(np.float32) / 4095.0 if k.endswith('image') else v.copy()
        out.append(p)
    return out


def read_index(root=None):
    root = root or data_dir()
    with open(os.path.join(root, 'acdc_index.csv')) as f:
        return {r['patient']: r for r in csv.DictReader(f)}


# ----------------------------------------------------------------------------- resize (= src/image/resize.ts)
def _area_matrix(src, dst):
    scale = src / dst
    m = np.zeros((dst, src), np.float64)
    for o in range(dst):
        lo = o * scale
        hi = src if o == dst - 1 else min((o + 1) * scale, src)
        s0 = int(np.floor(lo))
        if min(s0 + 1, hi) - max(s0, lo) <= 0:
            s0 += 1
        s = s0
        while s < hi:
            m[o, s] = min(s + 1, hi) - max(s, lo)
            s += 1
    return m / scale


def _bilinear_matrix(src, dst):
    scale = src / dst
    m = np.zeros((dst, src), np.float64)
    for o in range(dst):
        x = min(max((o + 0.5) * scale - 0.5, 0.0), src - 1)
        x0 = int(np.floor(x))
        f = x - x0
        m[o, x0] += 1 - f
        if x0 + 1 < src:
            m[o, x0 + 1] += f
    return m


_CACHE = {}


def axis_matrix(src, dst):
    """(dst, src) float64 matrix of one axis: area when shrinking, bilinear when growing."""
    key = (src, dst)
    if key not in _CACHE:
        if dst == src:
            _CACHE[key] = np.eye(src)
        else:
            _CACHE[key] = _area_matrix(src, dst) if dst < src else _bilinear_matrix(src, dst)
    return _CACHE[key]


def resize(img, width, height):
    """Resize (..., H, W) to (..., height, width), float32 out (float64 inside)."""
    H, W = img.shape[-2:]
    mh, mw = axis_matrix(H, height), axis_matrix(W, width)
    x = np.asarray(img, np.float64) @ mw.T          # horizontal pass
    x = np.matmul(mh, x)                             # vertical pass
    return x.astype(np.float32)


def minmax(s):
    """Per-slice min-max to [0, 1] (a constant slice gives 0), float32."""
    s = np.asarray(s, np.float64)
    lo, hi = s.min(axis=(-2, -1), keepdims=True), s.max(axis=(-2, -1), keepdims=True)
    rng = hi - lo
    return np.where(rng > 0, (s - lo) / np.where(rng > 0, rng, 1), 0).astype(np.float32)


def to_model_space(volume, size):
    """(Z,H,W) image in any range -> (Z,size,size) float32 in [0,1]: per-slice min-max, area resize."""
    return resize(minmax(volume), size, size)


def labels_to_soft(label, size, n_classes=4):
    """(Z,H,W) uint8 labels -> (Z,n_classes,size,size) float32 soft targets (area resize of one-hot)."""
    onehot = np.stack([(label == c) for c in range(n_classes)], 1).astype(np.float32)
    return resize(onehot, size, size)


def upsample_probs(p, H, W):
    """(Z,C,s,s) probabilities -> (Z,C,H,W), bilinear with half-pixel centres (as the service draws maps)."""
    return resize(p, W, H)
