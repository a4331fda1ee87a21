"""Validation operating points of a classifier, and its temperature kept only where it lowers
validation ECE10.

    /usr/bin/python3 models/_shared/val_operating_points.py --model retina-dr-28 [--recalibrate] [--write]

For one binary classifier (pneumonia-cxr-224, pneumonia-cxr-28, breast-us-28, retina-dr-28) it
rebuilds the validation split exactly as the model's train.py does (calibration_check.py's
builders: the same functions, imported from the script), runs model.onnx with the float64 NumPy
executor (onnxexec.py), and first checks the rebuild: at the temperature of metrics.json, the
rule of train.py (evalkit.operating_point with the model's config targets) must give back the
threshold and review band metrics.json holds. Then:

  * always: sensitivity, specificity and accuracy on validation at the threshold and at both
    review band edges, the share of validation images inside the band, and validation ECE10 at
    T = 1 and at the temperature -> metrics.json `val_operating_points`;
  * --recalibrate: the temperature is kept only where it lowers validation ECE10
    (evalkit.temperature_if_it_helps); where it does not, the temperature becomes 1.0 and the
    threshold and review band are derived again on validation at T = 1 by the same rule
    (evalkit.operating_point, same targets). metrics.json then gets the new `calibration`,
    `operating_point` and validation numbers; the test results of the earlier operating point
    (`test`, and `comparison_28` where present) move under `superseded_operating_point`, since
    they no longer describe the shipped model: re-run the model's evaluate.py (and compare_28.py
    for pneumonia-cxr-224) to measure the test split at the new operating point and rewrite
    manifest.json.

Without --write nothing is written; the result is printed. Needs numpy, PIL and torch (the train
scripts import torch). Data: ../shared/data beside the repository, or CXR_DATA_DIR /
MEDMNIST_DATA_DIR.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, '..')
sys.path.insert(0, HERE)
from calibration_check import BUILDERS  # noqa: E402
from evalkit import (auc, ece, ece10, nll, operating_point, operating_point_table, probability,  # noqa: E402
                     temperature_if_it_helps)

# Where train.py keeps the reported output's validation report inside metrics.json `val`.
VAL_REPORT = {'pneumonia-cxr-224': (), 'breast-us-28': (), 'retina-dr-28': ('referable',), 'pneumonia-cxr-28': ('pooled',)}
FINDING = {'pneumonia-cxr-224': 'pneumonia', 'pneumonia-cxr-28': 'pneumonia', 'breast-us-28': 'malignancy',
           'retina-dr-28': 'referable DR, grade >= 2'}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True, choices=sorted(BUILDERS))
    ap.add_argument('--recalibrate', action='store_true')
    ap.add_argument('--write', action='store_true')
    args = ap.parse_args()

    def log(*a):
        print(*a, file=sys.stderr, flush=True)
    mid = args.model
    path = os.path.join(MODELS, mid, 'metrics.json')
    with open(path) as f:
        metrics = json.load(f)
    cfg = metrics['config']
    targets = (cfg['sensitivity_target'], cfg['review_band_lower_sensitivity'])
    T = float(metrics['calibration']['temperature'])
    op = metrics['operating_point']
    thr, band = float(op['threshold']), [float(v) for v in op['review_band']]

    y, lv, dataset = BUILDERS[mid](log, splits=('val',))['val']
    y = np.asarray(y)
    p = probability(lv, T)
    again = operating_point(y, p, *targets)
    log(f'{mid}: val n={len(y)} ({int(y.sum())} positive); T {T}; stored operating point {thr} {band}; '
        f'rule on the rebuilt val: {again}')
    if not np.allclose(again, (thr, *band), atol=1e-9):
        log('the rebuilt validation split does not reproduce the stored operating point; stopping')
        return 1

    changed = False
    if args.recalibrate:
        T_new, e1, eT = temperature_if_it_helps(lv, y, T)
        log(f'val ECE10 T=1 {e1:.4f}, T={T} {eT:.4f} -> temperature {T_new}')
        if T_new != T:
            changed = True
            prev = {'calibration': metrics['calibration'], 'operating_point': op,
                    'reason': f'the fitted temperature {T} raised validation ECE10 from {e1:.4f} (T = 1) to {eT:.4f} '
                              '(10 equal-width bins of the reported probability); removed, and the threshold and '
                              'review band derived again on validation at T = 1 by the same rule'}
            for k in ('test', 'comparison_28'):
                if k in metrics:
                    prev[k] = metrics.pop(k)
            metrics['superseded_operating_point'] = prev
            T = T_new
            p = probability(lv, T)
            thr, lo, hi = operating_point(y, p, *targets)
            band = [lo, hi]
            metrics['calibration'] = {
                'method': 'none (temperature 1): a temperature is kept only where it lowers validation ECE10; the '
                          f'val-NLL temperature {prev["calibration"]["temperature"]} raised it ({e1:.4f} -> {eT:.4f})',
                'temperature': 1.0, 'fitted_temperature_not_used': prev['calibration']['temperature'],
                'val_ece10_T1': round(e1, 4), 'val_ece10_fitted_T': round(eT, 4)}
            metrics['operating_point'] = {
                'threshold': thr,
                'threshold_rule': f'largest threshold with val sensitivity >= {targets[0]} '
                                  f'(probability of {FINDING[mid]} at temperature 1)',
                'review_band': band,
                'review_band_rule': op['review_band_rule'],
            }
            rep = metrics['val']
            for k in VAL_REPORT[mid]:
                rep = rep[k]
            se_sp = operating_point_table(y, p, thr, band)
            rep.update({'nll_T': nll(lv, y, T), 'auc': auc(y, p),
                        'sensitivity': float(((p >= thr) & (y == 1)).sum() / (y == 1).sum()),
                        'specificity': float(((p < thr) & (y == 0)).sum() / (y == 0).sum()),
                        'accuracy': float(((p >= thr) == y).mean()),
                        'fraction_in_review_band': se_sp['fractionInReviewBand']})
            if 'ece15_T' in rep:
                rep['ece15_T'] = ece(y, p)
            log(f'new: temperature {T} threshold {thr:.4f} review band [{band[0]:.4f}, {band[1]:.4f}]')

    fitted = metrics['calibration'].get('fitted_temperature_not_used', T)
    metrics['val_operating_points'] = {
        'dataset': f'{dataset} (n={len(y)}, {int(y.sum())} positive)',
        'executor': 'model.onnx via the float64 NumPy ONNX executor of models/_shared/onnxexec.py',
        'temperature': T,
        'rule': 'positive when probability >= the value; sensitivity / specificity / accuracy on the validation split',
        **operating_point_table(y, p, thr, band),
        'ece10_T1': round(ece10(y, probability(lv, 1.0)), 4),
        'ece10_fitted_temperature': round(ece10(y, probability(lv, fitted)), 4),
        'fitted_temperature': fitted,
    }
    print(json.dumps({'changed': changed, 'calibration': metrics['calibration'],
                      'operating_point': metrics['operating_point'],
                      'val_operating_points': metrics['val_operating_points']}, indent=1))
    if args.write:
        with open(path, 'w') as f:
            json.dump(metrics, f, indent=2)
        log(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
