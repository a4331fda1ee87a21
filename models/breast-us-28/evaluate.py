#!/usr/bin/python3
"""Evaluate model.onnx on the BreastMNIST test split ONCE and write the test metrics + manifest.json.

    /usr/bin/python3 models/breast-us-28/evaluate.py

Reads the shipped model.onnx and executes it with the float64 NumPy reference executor of
models/_shared/onnxexec.py (`OnnxNumpy`, einsum convolution; onnxruntime's Python package is not
part of the toolchain). train.py checks this executor against torch at export time.
Temperature, threshold and review band come from metrics.json (written by train.py, chosen on val).
Positive class = malignant (BreastMNIST label 0). Bootstrap: 2000 case resamples (percentile
95% CI), seed 12345. ECE: 15 equal-width bins over the top-label confidence.
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
from evalkit import full_report  # noqa: E402
from manifestio import write_manifest  # noqa: E402
from onnxexec import OnnxNumpy, run_batched  # noqa: E402

DATA = os.environ.get('MEDMNIST_DATA_DIR', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
MEAN, STD = 0.5, 0.5
BAR = {'auc': 0.901, 'accuracy': 0.863, 'source': 'MedMNIST v2 Table 3, ResNet-18 (28), BreastMNIST'}


def load_test():
    d = np.load(os.path.join(DATA, 'medmnist', 'breastmnist.npz'))
    x = d['test_images'].astype(np.float64) / 255.0
    y = 1 - d['test_labels'][:, 0].astype(np.int64)     # 1 = malignant
    return ((x - MEAN) / STD)[:, None], y


MANIFEST_TEMPLATE = {
    'schemaVersion': 1,
    'id': 'breast-us-28',
    'version': '1.0.0',
    'name': 'Breast lesion malignancy classifier, breast ultrasound, 28x28',
    'manufacturer': 'imaging-cds project',
    'task': 'classification',
    'file': 'model.onnx',
    'intendedUse': 'Research decision support: flags breast ultrasound images whose appearance suggests a malignant '
                   'lesion (vs benign lesion or normal tissue). Preliminary AI output, not for clinical use.',
    'accepts': {'modalities': ['US'], 'bodyParts': ['BREAST']},
    'input': {'name': 'image', 'width': 28, 'height': 28, 'channels': 1,
              'windowing': {'kind': 'dicom'}, 'resize': 'area',
              'normalization': {'mean': [MEAN], 'std': [STD]}},
}


def main():
    metrics_path = os.path.join(HERE, 'metrics.json')
    with open(metrics_path) as f:
        metrics = json.load(f)
    T = float(metrics['calibration']['temperature'])
    thr = float(metrics['operating_point']['threshold'])
    band = [float(v) for v in metrics['operating_point']['review_band']]
    runner = OnnxNumpy(os.path.join(HERE, 'model.onnx'))

    x, y = load_test()
    logits = run_batched(runner, x, 128)
    test = full_report(y, logits, T, thr, band, classes=('benign_or_normal', 'malignant'))
    print('BreastMNIST test', json.dumps(test, indent=1), flush=True)

    metrics['test'] = {
        'note': 'evaluated once on the official test split after every choice was fixed on val',
        'executor': 'model.onnx via the float64 NumPy ONNX executor of models/_shared/onnxexec.py',
        'bootstrap': '2000 case resamples, percentile 95% CI, seed 12345',
        'ece': 'top-label ECE, 15 equal-width confidence bins',
        'breastmnist_test': test,
        'medmnist_benchmark_resnet18_28': BAR,
        'beats_benchmark_auc': bool(test['auc'] > BAR['auc']),
        'beats_benchmark_accuracy_at_0.5_argmax': bool(test['accuracy_at_0.5_argmax'] > BAR['accuracy']),
    }
    with open(metrics_path, 'w') as f:
        json.dump(metrics, f, indent=2)

    r4 = lambda v: round(float(v), 4)  # noqa: E731
    computed = {}
    computed['output'] = {
        'name': 'logits', 'activation': 'softmax', 'temperature': r4(T),
        'labels': [
            {'index': 0, 'key': 'benign-or-normal', 'display': 'Benign lesion or normal breast tissue', 'report': False},
            {'index': 1, 'key': 'malignant', 'display': 'Suspected malignant breast lesion', 'report': True,
             'codes': [{'system': 'http://snomed.info/sct', 'code': '254837009',
                        'display': 'Malignant neoplasm of breast'}],
             'threshold': r4(thr), 'reviewBand': [r4(band[0]), r4(band[1])], 'urgency': 'warning'},
        ],
    }
    computed['templates'] = {'card': 'classification-card', 'report': 'classification-report'}
    computed['metrics'] = {
        'dataset': 'BreastMNIST test split (n=156: 42 malignant, 114 benign or normal), positive = malignant',
        'auc': test['auc'], 'auc95': test['auc95'],
        'accuracy': test['accuracy'], 'accuracy95': test['accuracy95'],
        'sensitivity': test['sensitivity'], 'sensitivity95': test['sensitivity95'],
        'specificity': test['specificity'], 'specificity95': test['specificity95'],
        'threshold': r4(thr),
        'accuracyAt05Argmax': test['accuracy_at_0.5_argmax'],
        'eceBeforeTemperature': test['ece15_before_temperature'],
        'eceAfterTemperature': test['ece15_after_temperature'],
        'benchmark': {'dataset': 'MedMNIST v2 Table 3, ResNet-18 (28), BreastMNIST', 'auc': BAR['auc'],
                      'accuracy': BAR['accuracy']},
    }
    lab = computed['output']['labels'][1]
    assert lab['reviewBand'][0] <= lab['threshold'] <= lab['reviewBand'][1]
    write_manifest(os.path.join(HERE, 'manifest.json'), MANIFEST_TEMPLATE, computed)
    print('wrote metrics.json (test section) and manifest.json')


if __name__ == '__main__':
    sys.exit(main())
