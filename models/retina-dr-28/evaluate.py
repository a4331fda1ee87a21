#!/usr/bin/python3
"""Evaluate model.onnx on the RetinaMNIST test split ONCE and write the test metrics + manifest.json.

    /usr/bin/python3 models/retina-dr-28/evaluate.py

Executes the shipped model.onnx with the float64 NumPy reference executor of
models/_shared/onnxexec.py (`OnnxNumpy`, einsum convolution; `run_all` returns both graph
outputs). train.py checks it against torch at export time.

Two sets of test numbers:
  * referable DR (grade >= 2) from the `logits` output, which the service reports: AUC, and
    accuracy / sensitivity / specificity at the val-chosen threshold, 2000-sample bootstrap 95%
    CIs (seed 12345), ECE before/after temperature (15 bins, top-label). -> manifest `metrics`.
  * 5-grade, comparable with MedMNIST v2 (RetinaMNIST, ResNet-18 (28) AUC 0.717 / ACC 0.524):
    mean one-vs-rest AUC of the softmax of `grade_logits`, accuracy of its argmax, bootstrap CIs.
    -> manifest `metrics.benchmark`.
manifest.json: the output, templates and metrics sections are rewritten, every other key is kept
(models/_shared/manifestio.py).
"""
import json
import os
import sys

import numpy as np

# Metrics and the ONNX executor shared by every model's scripts (see each module).
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
from evalkit import full_report, ovr_aucs, softmax  # noqa: E402
from manifestio import write_manifest  # noqa: E402
from onnxexec import OnnxNumpy  # noqa: E402

DATA = os.environ.get('MEDMNIST_DATA_DIR', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
MEAN, STD = 0.5, 0.5
REFERABLE_FROM_GRADE = 2
BAR = {'auc': 0.717, 'accuracy': 0.524, 'source': 'MedMNIST v2 Table 3, ResNet-18 (28), RetinaMNIST (5-class)'}


def grade_metrics(y, prob):
    aucs = ovr_aucs(y, prob)
    return {'auc': float(np.mean(aucs)), 'accuracy': float((prob.argmax(1) == y).mean()), 'auc_per_grade': aucs}


def grade_bootstrap(y, prob, n=2000, seed=12345):
    rng = np.random.default_rng(seed)
    a, c = [], []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        if len(np.unique(y[i])) < prob.shape[1]:
            continue  # a resample missing a grade has no one-vs-rest AUC for it
        m = grade_metrics(y[i], prob[i])
        a.append(m['auc'])
        c.append(m['accuracy'])
    pct = lambda v: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]  # noqa: E731
    return {'auc95': pct(a), 'accuracy95': pct(c), 'resamples_used': len(a)}


def load_test():
    d = np.load(os.path.join(DATA, 'medmnist', 'retinamnist.npz'))
    x = d['test_images'].astype(np.float64).transpose(0, 3, 1, 2) / 255.0
    return (x - MEAN) / STD, d['test_labels'][:, 0].astype(np.int64)


MANIFEST_TEMPLATE = {
    'schemaVersion': 1,
    'id': 'retina-dr-28',
    'version': '1.0.0',
    'name': 'Referable diabetic retinopathy classifier, colour fundus photograph, 28x28',
    'manufacturer': 'imaging-cds project',
    'task': 'classification',
    'file': 'model.onnx',
    'intendedUse': 'Research decision support: flags colour fundus photographs that may show referable diabetic '
                   'retinopathy (grade 2 or worse on a 0-4 scale). Preliminary AI output, not for clinical use.',
    'accepts': {'modalities': ['OP'], 'bodyParts': ['EYE']},
    'input': {'name': 'image', 'width': 28, 'height': 28, 'channels': 3,
              'windowing': {'kind': 'dicom'}, 'resize': 'area',
              'normalization': {'mean': [MEAN] * 3, 'std': [STD] * 3}},
}


def main():
    metrics_path = os.path.join(HERE, 'metrics.json')
    with open(metrics_path) as f:
        metrics = json.load(f)
    T = float(metrics['calibration']['temperature'])
    thr = float(metrics['operating_point']['threshold'])
    band = [float(v) for v in metrics['operating_point']['review_band']]
    runner = OnnxNumpy(os.path.join(HERE, 'model.onnx'))

    x, grade = load_test()
    outs = [runner.run_all(x[i:i + 100]) for i in range(0, len(x), 100)]
    lr = np.concatenate([o['logits'] for o in outs])
    lz = np.concatenate([o['grade_logits'] for o in outs])
    y = (grade >= REFERABLE_FROM_GRADE).astype(np.int64)

    ref = full_report(y, lr, T, thr, band, classes=('non_referable', 'referable'), argmax_key='accuracy_at_0.5_T1')
    gm = grade_metrics(grade, softmax(lz))
    gci = grade_bootstrap(grade, softmax(lz))
    g5 = {'n': int(len(grade)), 'grades': np.bincount(grade, minlength=5).tolist(),
          'auc': round(gm['auc'], 4), 'auc95': [round(v, 4) for v in gci['auc95']],
          'accuracy': round(gm['accuracy'], 4), 'accuracy95': [round(v, 4) for v in gci['accuracy95']],
          'auc_per_grade': [round(v, 4) for v in gm['auc_per_grade']],
          'bootstrap_resamples_used': gci['resamples_used']}
    print('RetinaMNIST test, referable DR', json.dumps(ref, indent=1))
    print('RetinaMNIST test, 5 grades', json.dumps(g5, indent=1), flush=True)

    metrics['test'] = {
        'note': 'evaluated once on the official test split after every choice was fixed on val',
        'executor': 'model.onnx via the float64 NumPy ONNX executor of models/_shared/onnxexec.py',
        'bootstrap': '2000 case resamples, percentile 95% CI, seed 12345',
        'ece': 'top-label ECE, 15 equal-width confidence bins',
        'retinamnist_test_referable': ref,
        'retinamnist_test_5grade': g5,
        'medmnist_benchmark_resnet18_28': BAR,
        'beats_benchmark_auc': bool(g5['auc'] > BAR['auc']),
        'beats_benchmark_accuracy': bool(g5['accuracy'] > BAR['accuracy']),
    }
    with open(metrics_path, 'w') as f:
        json.dump(metrics, f, indent=2)

    r4 = lambda v: round(float(v), 4)  # noqa: E731
    computed = {}
    computed['output'] = {
        'name': 'logits', 'activation': 'softmax', 'temperature': r4(T),
        'labels': [
            {'index': 0, 'key': 'non-referable-dr', 'display': 'No or mild diabetic retinopathy (grade 0-1)', 'report': False},
            {'index': 1, 'key': 'referable-dr', 'display': 'Referable diabetic retinopathy (grade 2-4)', 'report': True,
             'codes': [{'system': 'http://snomed.info/sct', 'code': '4855003', 'display': 'Diabetic retinopathy'}],
             'threshold': r4(thr), 'reviewBand': [r4(band[0]), r4(band[1])], 'urgency': 'warning'},
        ],
    }
    computed['templates'] = {'card': 'classification-card', 'report': 'classification-report'}
    computed['metrics'] = {
        'dataset': f"RetinaMNIST test split (n={ref['n']}), referable DR = grade >= 2 "
                   f"({ref['n_referable']} referable, {ref['n_non_referable']} not)",
        'auc': ref['auc'], 'auc95': ref['auc95'],
        'accuracy': ref['accuracy'], 'accuracy95': ref['accuracy95'],
        'sensitivity': ref['sensitivity'], 'sensitivity95': ref['sensitivity95'],
        'specificity': ref['specificity'], 'specificity95': ref['specificity95'],
        'threshold': r4(thr),
        'eceBeforeTemperature': ref['ece15_before_temperature'],
        'eceAfterTemperature': ref['ece15_after_temperature'],
        'benchmark': {'dataset': 'RetinaMNIST test split (n=400), 5-grade, from the grade_logits output; '
                                 'comparable with MedMNIST v2 (ResNet-18 (28): AUC 0.717, ACC 0.524)',
                      'auc': g5['auc'], 'auc95': g5['auc95'], 'accuracy': g5['accuracy'], 'accuracy95': g5['accuracy95']},
    }
    lab = computed['output']['labels'][1]
    assert lab['reviewBand'][0] <= lab['threshold'] <= lab['reviewBand'][1]
    write_manifest(os.path.join(HERE, 'manifest.json'), MANIFEST_TEMPLATE, computed)
    print('wrote metrics.json (test section) and manifest.json')


if __name__ == '__main__':
    sys.exit(main())
