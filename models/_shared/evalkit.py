"""Metrics and calibration shared by the classifiers' train.py / evaluate.py scripts.

One copy of what every classifier's model card numbers rest on: tie-aware rank AUC (also the
mean one-vs-rest AUC of a multi-class softmax), sensitivity and specificity at a threshold,
expected calibration error, percentile bootstrap CIs over the test cases, temperature scaling
fitted on validation logits, and the validation rule that sets a shipped operating point
(threshold and review band). NumPy only; no torch.

This folder's name starts with "_", so the model registry does not take it for a model.
Scripts import it with:

    sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
    from evalkit import auc, ...
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


def full_report(y, logits, T, thr, band, classes=('normal', 'pneumonia'), argmax_key='accuracy_at_0.5_argmax'):
    """The test report of a 2-logit classifier: point metrics at thr after temperature T, their
    bootstrap CIs, accuracy of the argmax at T=1, ECE before / after T, fraction in the review band.
    classes names the case counts (n_<negative>, n_<positive>); argmax_key the argmax accuracy."""
    p = probability(logits, T)
    p1 = probability(logits, 1.0)
    m = point_metrics(y, p, thr)
    ci = bootstrap(y, p, thr)
    return {
        'n': int(len(y)), f'n_{classes[0]}': int((y == 0).sum()), f'n_{classes[1]}': int((y == 1).sum()),
        'threshold': thr, 'temperature': T,
        **{k: round(v, 4) for k, v in m.items()},
        **{f'{k}95': [round(c, 4) for c in v] for k, v in ci.items()},
        argmax_key: round(float(((p1 >= 0.5) == y).mean()), 4),
        'ece15_before_temperature': round(ece(y, p1), 4),
        'ece15_after_temperature': round(ece(y, p), 4),
        'fraction_in_review_band': round(float(((p >= band[0]) & (p <= band[1])).mean()), 4),
    }


# ----------------------------------------------------------------------------- multi-class
def softmax(z):
    """Row-wise softmax of [N, K] logits."""
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def nll_multi(z, y):
    """Mean negative log-likelihood of integer labels y under softmax(z)."""
    z = z - z.max(1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]))


def ovr_aucs(y, prob):
    """One-vs-rest AUC of each class's probability column."""
    return [auc((y == c).astype(int), prob[:, c]) for c in range(prob.shape[1])]


def multiclass_auc(y, prob):
    """MedMNIST's multi-class AUC: the mean over classes of the one-vs-rest AUC."""
    return float(np.mean(ovr_aucs(y, prob)))


# ----------------------------------------------------------------------------- operating point
def largest_threshold_with_sensitivity(y, p, target):
    """Largest t (midpoint between adjacent distinct scores) with sensitivity(t) >= target."""
    n1 = int((y == 1).sum())
    k = int(np.ceil(target * n1 - 1e-9))        # at least k positives at or above t
    t_pos = np.sort(p[y == 1])[::-1][k - 1]     # k-th highest positive score
    below = p[p < t_pos]
    return float((t_pos + below.max()) / 2 if len(below) else t_pos)


def operating_point(y, p, sensitivity_target, band_lower_sensitivity):
    """The shipped operating point, from validation probabilities p (after temperature scaling).

    threshold: the largest with sensitivity >= sensitivity_target, rounded down to 4 decimals;
    review band: lower edge = the largest threshold with sensitivity >= band_lower_sensitivity
    (at most the threshold), rounded down; upper edge = its mirror image around the threshold in
    logit space (logit(upper) = 2 logit(threshold) - logit(lower)), rounded up, at most 0.9999.
    The rounding keeps the validation rules true at the 4 decimals the manifest carries.
    Returns (threshold, lower, upper) as floats."""
    thr = np.floor(largest_threshold_with_sensitivity(y, p, sensitivity_target) * 1e4) / 1e4
    lo_raw = min(largest_threshold_with_sensitivity(y, p, band_lower_sensitivity), thr)

    def logit(q):
        return np.log(q / (1 - q))
    hi_raw = 1 / (1 + np.exp(-(2 * logit(thr) - logit(lo_raw))))
    lo = float(np.floor(lo_raw * 1e4) / 1e4)
    hi = float(min(np.ceil(hi_raw * 1e4) / 1e4, 0.9999))
    return float(thr), lo, hi


# ----------------------------------------------------------------------------- calibration choice
def ece10(y, p, bins=10):
    """ECE over `bins` equal-width bins of the reported finding's probability p in [0, 1]
    (bin k = [k/bins, (k+1)/bins), the last bin closed): sum over bins of n_k/N |mean p - observed
    rate|. The calibration measure the model cards state (models/_shared/calibration_check.py)."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    k = np.minimum((p * bins).astype(int), bins - 1)
    e = 0.0
    for b in range(bins):
        m = k == b
        if m.any():
            e += m.sum() / len(y) * abs(float(p[m].mean()) - float(y[m].mean()))
    return float(e)


def temperature_if_it_helps(logits, y, T):
    """The temperature to ship: T (fitted on validation) only where it lowers validation ECE10
    below that of T = 1, else 1.0. Returns (temperature, ece10 at T = 1, ece10 at T)."""
    e1, eT = ece10(y, probability(logits, 1.0)), ece10(y, probability(logits, T))
    return (float(T) if eT < e1 else 1.0), e1, eT


def operating_point_table(y, p, thr, band):
    """Sensitivity, specificity and accuracy on a split at the threshold and at both review band
    edges (a probability >= the value counts as positive), and the share inside the band."""
    rows = {}
    for name, t in (('threshold', thr), ('reviewBandLower', band[0]), ('reviewBandUpper', band[1])):
        se, sp = sens_spec(y, p, t)
        rows[name] = {'at': float(t), 'sensitivity': round(se, 4), 'specificity': round(sp, 4),
                      'accuracy': round(float(((p >= t) == y).mean()), 4)}
    rows['fractionInReviewBand'] = round(float(((p >= band[0]) & (p <= band[1])).mean()), 4)
    return rows
