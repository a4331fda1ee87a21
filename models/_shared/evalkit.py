"""Metrics and calibration shared by the models' train.py / evaluate.py scripts.

One copy of what every model card's numbers rest on: tie-aware rank AUC, sensitivity and
specificity at a threshold, expected calibration error, percentile bootstrap CIs over the test
cases, and temperature scaling fitted on validation logits. The TypeScript evaluation
(src/cli/eval-metrics.ts) recomputes the same definitions from the shipped ONNX files.

This folder's name starts with "_", so the model registry does not take it for a model.
Scripts import it with:

    sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
    from evalkit import auc, ...

The functions were moved here unchanged from models/pneumonia-cxr-28 (train.py: softmax1, nll,
fit_temperature, sens_spec; evaluate.py: the rest); the copies they replace elsewhere were the
same code or the same arithmetic written differently (checked on random data when moved).
"""
import numpy as np


def softmax1(logits, T=1.0):
    z = logits / T
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e[:, 1] / e.sum(1)


def nll(logits, y, T):
    z = logits / T
    z = z - z.max(1, keepdims=True)
    lse = np.log(np.exp(z).sum(1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


def fit_temperature(logits, y):
    """Minimise val NLL over T (golden-section on log T in [0.05, 20])."""
    lo, hi = np.log(0.05), np.log(20.0)
    gr = (np.sqrt(5) - 1) / 2
    c, d = hi - gr * (hi - lo), lo + gr * (hi - lo)
    for _ in range(200):
        if nll(logits, y, np.exp(c)) < nll(logits, y, np.exp(d)):
            hi = d
        else:
            lo = c
        c, d = hi - gr * (hi - lo), lo + gr * (hi - lo)
    return float(np.exp((lo + hi) / 2))


def sens_spec(y, p, t):
    pos = p >= t
    return float((pos & (y == 1)).sum() / (y == 1).sum()), float((~pos & (y == 0)).sum() / (y == 0).sum())


def probability(logits, T):
    z = np.asarray(logits, dtype=np.float64) / T
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e[:, 1] / e.sum(1)


def rankdata(a):
    a = np.asarray(a)
    order = np.argsort(a, kind='mergesort')
    s = a[order]
    change = np.concatenate([[True], s[1:] != s[:-1]])
    idx = np.cumsum(change) - 1                     # group id per sorted element
    counts = np.bincount(idx)
    ends = np.cumsum(counts)
    mid = ends - (counts - 1) / 2.0                 # 1-based mid-rank per group
    r = np.empty(len(a))
    r[order] = mid[idx]
    return r


def auc(y, p):
    y = np.asarray(y)
    r = rankdata(p)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n0 == 0 or n1 == 0:
        return float('nan')
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n0 * n1))


def point_metrics(y, p, thr):
    pos = p >= thr
    tp = int((pos & (y == 1)).sum())
    tn = int((~pos & (y == 0)).sum())
    return {'auc': auc(y, p), 'accuracy': (tp + tn) / len(y),
            'sensitivity': tp / int((y == 1).sum()), 'specificity': tn / int((y == 0).sum())}


def ece(y, p1, bins=15):
    """Top-label expected calibration error, equal-width bins on confidence in [0.5, 1]."""
    conf = np.maximum(p1, 1 - p1)
    pred = (p1 >= 0.5).astype(int)
    correct = (pred == y).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    e = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            e += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(e)


def bootstrap(y, p, thr, n=2000, seed=12345):
    rng = np.random.default_rng(seed)
    keys = ['auc', 'accuracy', 'sensitivity', 'specificity']
    out = {k: [] for k in keys}
    N = len(y)
    for _ in range(n):
        i = rng.integers(0, N, N)
        m = point_metrics(y[i], p[i], thr)
        for k in keys:
            out[k].append(m[k])
    return {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in out.items()}


def full_report(y, logits, T, thr, band):
    p = probability(logits, T)
    p1 = probability(logits, 1.0)
    m = point_metrics(y, p, thr)
    ci = bootstrap(y, p, thr)
    return {
        'n': int(len(y)), 'n_normal': int((y == 0).sum()), 'n_pneumonia': int((y == 1).sum()),
        'threshold': thr, 'temperature': T,
        **{k: round(v, 4) for k, v in m.items()},
        **{f'{k}95': [round(c, 4) for c in v] for k, v in ci.items()},
        'accuracy_at_0.5_argmax': round(float(((p1 >= 0.5) == y).mean()), 4),
        'ece15_before_temperature': round(ece(y, p1), 4),
        'ece15_after_temperature': round(ece(y, p), 4),
        'fraction_in_review_band': round(float(((p >= band[0]) & (p <= band[1])).mean()), 4),
    }
