"""Pixel-level metrics and calibration of the segmentation model (retina-vessels-drive).

A segmentation model outputs one logit per pixel; probability = sigmoid(logit / T). Here, for
the pooled pixels inside the field of view: confusion counts and Dice / accuracy / sensitivity /
specificity from them, the Dice-maximising threshold, expected calibration error (the same
top-label, 15-bin definition as evalkit.ece, accumulated with bincount for millions of pixels),
an exact pairwise Mann-Whitney matrix for the AUC of any weighting of images, the bootstrap over
images built on it, and temperature scaling of a single sigmoid logit. The pooled AUC itself is
evalkit.auc.

Argument order follows evalkit: scores / logits first where a function fits or scores them
(nll_sigmoid(z, y, T), fit_temperature_sigmoid(z, y)); labels first where it compares with
labels (counts(y, pred), best_dice_threshold(y, p), pixel_ece(y, p)).
"""
import numpy as np


def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def nll_sigmoid(z, y, T):
    """Mean binary cross-entropy of labels y under sigmoid(z / T)."""
    z = np.asarray(z, np.float64) / T
    return float(np.mean(np.logaddexp(0, z) - y * z))


def fit_temperature_sigmoid(z, y):
    """argmin_T nll_sigmoid(z, y, T) on a log grid over [0.1, 10], refined by golden-section search."""
    grid = np.exp(np.linspace(np.log(0.1), np.log(10.0), 93))
    vals = [nll_sigmoid(z, y, t) for t in grid]
    i = int(np.argmin(vals))
    lo, hi = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, len(grid) - 1)])
    gr = (np.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = hi - gr * (hi - lo), lo + gr * (hi - lo)
        if nll_sigmoid(z, y, np.exp(a)) < nll_sigmoid(z, y, np.exp(b)):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def counts(y, pred):
    """[tp, fp, fn, tn] as float64."""
    y = np.asarray(y, bool)
    pred = np.asarray(pred, bool)
    tp = int((pred & y).sum())
    fp = int((pred & ~y).sum())
    fn = int((~pred & y).sum())
    tn = int((~pred & ~y).sum())
    return np.array([tp, fp, fn, tn], dtype=np.float64)


def from_counts(c):
    tp, fp, fn, tn = c
    return {'dice': 2 * tp / (2 * tp + fp + fn), 'accuracy': (tp + tn) / (tp + fp + fn + tn),
            'sensitivity': tp / (tp + fn), 'specificity': tn / (tn + fp)}


def best_dice_threshold(y, p):
    """Pooled Dice maximised over all thresholds t (p >= t -> positive); returns (dice, t, next lower value)."""
    y = np.asarray(y, bool)
    order = np.argsort(-p, kind='mergesort')
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ps) + 1)
    last = np.concatenate([ps[1:] != ps[:-1], [True]])   # end of each tie group
    dice = np.where(last, 2 * tp / (k + y.sum()), -1)
    i = int(np.argmax(dice))
    lower = float(ps[i + 1]) if i + 1 < len(ps) else 0.0
    return float(dice[i]), float(ps[i]), lower


def pixel_ece(y, p, bins=15):
    """Top-label ECE: confidence max(p, 1-p), prediction p >= 0.5, equal-width bins on [0, 1]."""
    y = np.asarray(y, bool)
    conf = np.maximum(p, 1 - p)
    correct = ((p >= 0.5) == y).astype(np.float64)
    edges = np.linspace(0, 1, bins + 1)
    b = np.clip(np.searchsorted(edges, conf, side='left') - 1, 0, bins - 1)   # (lo, hi] bins
    n = np.bincount(b, minlength=bins).astype(np.float64)
    sc = np.bincount(b, weights=conf, minlength=bins)
    sa = np.bincount(b, weights=correct, minlength=bins)
    m = n > 0
    return float(np.sum(np.abs(sa[m] - sc[m])) / len(p))


def pairwise_mw(scores, labels):
    """C[i, j] = sum over positives of image i of (#negatives of image j scoring lower + 1/2 #equal).
    Pooled AUC of any weighting w of images = w.C.w / ((w.P)(w.N)), exactly."""
    k = len(scores)
    negs = [np.sort(s[~y]) for s, y in zip(scores, labels)]
    C = np.zeros((k, k))
    for i in range(k):
        pos = scores[i][labels[i]]
        for j in range(k):
            lo = np.searchsorted(negs[j], pos, side='left').astype(np.float64)
            hi = np.searchsorted(negs[j], pos, side='right').astype(np.float64)
            C[i, j] = lo.sum() + 0.5 * (hi - lo).sum()
    P = np.array([y.sum() for y in labels], dtype=np.float64)
    N = np.array([(~y).sum() for y in labels], dtype=np.float64)
    return C, P, N


def bootstrap_images(C, P, N, per_image_counts, n, seed):
    """Percentile 95% CIs of AUC, Dice, accuracy, sensitivity, specificity over n resamples of the
    images with replacement (pixels of a drawn image pooled), from pairwise_mw and counts."""
    rng = np.random.default_rng(seed)
    k = len(P)
    out = {key: [] for key in ('auc', 'dice', 'accuracy', 'sensitivity', 'specificity')}
    for _ in range(n):
        w = np.bincount(rng.integers(0, k, k), minlength=k).astype(np.float64)
        out['auc'].append(float(w @ C @ w / ((w @ P) * (w @ N))))
        for key, v in from_counts(w @ per_image_counts).items():
            out[key].append(v)
    return {f'{key}95': [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for key, v in out.items()}
