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


# ----------------------------------------------------------------------------- field-of-view resize
# The manifest's `input.resize: "fov-diameter"`, as src/inference/fov-geometry.ts does it: scale the
# image (aspect kept) so its field of view is `diameter` pixels across, pad (black, centred) or crop
# (around the FOV) to the network input, and map the output back. Same rules, same arithmetic
# (area averaging when shrinking, bilinear with half-pixel centres when enlarging, per axis).

FOV_CHORD_FRACTION = 0.1


def fov_extent(rgb, min_intensity, chord_fraction=FOV_CHORD_FRACTION):
    """Horizontal FOV extent and centre of an HxWx3 image (uint8, or float in [0,1]):
    (diameter, centre_x, centre_y) in pixels, or None when no pixel is inside. A pixel is inside
    when mean(R,G,B) >= min_intensity; a column (row) counts when it holds at least chord_fraction
    of the fullest column's (row's) inside pixels; diameter = last - first + 1 counted column."""
    v = rgb.astype(np.float64)
    if rgb.dtype == np.uint8:
        v = v / 255.0
    inside = v.sum(axis=2) >= min_intensity * 3
    out = []
    for counts in (inside.sum(axis=0), inside.sum(axis=1)):
        if counts.max() == 0:
            return None
        idx = np.nonzero(counts >= chord_fraction * counts.max())[0]
        out.append((int(idx[0]), int(idx[-1])))
    (x0, x1), (y0, y1) = out
    return x1 - x0 + 1, (x0 + x1 + 1) / 2, (y0 + y1 + 1) / 2


def _axis_offset(scaled, size, centre):
    if scaled <= size:
        return (size - scaled) // 2
    start = int(np.floor(centre - size / 2 + 0.5))   # Math.round
    return -min(max(start, 0), scaled - size)


def fov_placement(rgb, net_w, net_h, spec):
    """Where the image goes in the network input. spec = the manifest's input.fieldOfView
    (diameter, minIntensity, chordFraction, tolerance). Returns dict(scale, scaled_w, scaled_h,
    offset_x, offset_y, measured_diameter)."""
    h, w = rgb.shape[:2]
    ext = fov_extent(rgb, spec['minIntensity'], spec.get('chordFraction', FOV_CHORD_FRACTION))
    if ext is None:
        raise ValueError('no field of view')
    d, cx, cy = ext
    s = spec['diameter'] / d
    if abs(s - 1) <= spec.get('tolerance', 0):
        s = 1.0
    sw, sh = max(1, int(np.floor(w * s + 0.5))), max(1, int(np.floor(h * s + 0.5)))
    return {'scale': s, 'scaled_w': sw, 'scaled_h': sh, 'measured_diameter': d,
            'offset_x': _axis_offset(sw, net_w, cx * s), 'offset_y': _axis_offset(sh, net_h, cy * s)}


def _taps(src, dst):
    """dst x src weight matrix of one axis, rows summing to 1 (the TS taps divided by their divisor)."""
    m = np.zeros((dst, src))
    scale = src / dst
    if dst == src:
        return np.eye(src)
    if dst < src:                      # area
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
    for o in range(dst):               # bilinear, half-pixel centres
        x = min(max((o + 0.5) * scale - 0.5, 0), src - 1)
        x0 = int(np.floor(x))
        f = x - x0
        m[o, x0] += 1 - f
        if x0 + 1 < src:
            m[o, x0 + 1] += f
    return m


def resize_area(img, out_w, out_h):
    """HxW or HxWxC float -> out_h x out_w (x C) float32, the runtime's resizeArea."""
    a = np.asarray(img, dtype=np.float64)
    flat = a.reshape(a.shape[0], a.shape[1], -1)
    wx, wy = _taps(a.shape[1], out_w), _taps(a.shape[0], out_h)
    out = np.einsum('ox,yxc->yoc', wx, flat)
    out = np.einsum('py,yoc->poc', wy, out)
    return out.reshape((out_h, out_w) + a.shape[2:]).astype(np.float32)


def _blit(src, dst, dx, dy):
    fh, fw = src.shape[:2]
    th, tw = dst.shape[:2]
    x0, x1 = max(0, dx), min(tw, dx + fw)
    y0, y1 = max(0, dy), min(th, dy + fh)
    if x1 > x0 and y1 > y0:
        dst[y0:y1, x0:x1] = src[y0 - dy:y1 - dy, x0 - dx:x1 - dx]
    return dst


def to_model_geometry(img01, p, net_w, net_h):
    """HxWxC float image in [0,1] -> net_h x net_w x C on a black canvas, as placed by fov_placement."""
    scaled = img01.astype(np.float32) if p['scale'] == 1 and img01.shape[:2] == (p['scaled_h'], p['scaled_w']) \
        else resize_area(img01, p['scaled_w'], p['scaled_h'])
    canvas = np.zeros((net_h, net_w) + img01.shape[2:], dtype=np.float32)
    return _blit(scaled, canvas, p['offset_x'], p['offset_y'])


def to_source_geometry(values, p, src_w, src_h):
    """A net_h x net_w map back on the source image (cropped-away parts 0)."""
    scaled = _blit(values.astype(np.float32), np.zeros((p['scaled_h'], p['scaled_w']), np.float32), -p['offset_x'], -p['offset_y'])
    return scaled if scaled.shape == (src_h, src_w) else resize_area(scaled, src_w, src_h)
