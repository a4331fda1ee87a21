#!/usr/bin/python3
"""Evaluate model.onnx on the Kermany test split ONCE and write the test metrics + manifest.json.

    /usr/bin/python3 models/pneumonia-cxr-224/evaluate.py

Reads the shipped model.onnx (no torch checkpoint is kept) and executes the ONNX graph with the
float64 NumPy reference executor of models/_shared/onnxexec.py (`OnnxNumpy`, im2col convolution;
onnxruntime's Python package is not part of the toolchain). train.py checks this executor
against torch at export time.
Temperature, threshold and review band come from metrics.json (written by train.py, chosen on
val).

Test data: kermany-cxr-224/test/{NORMAL,PNEUMONIA}/*.jpeg (n=624, the same 624 images as the
PneumoniaMNIST test split), preprocessed exactly as the runtime does it
(models/_shared/kermany_data.py): PIL decode, RGB/255 as float64, grey = 0.299 R + 0.587 G +
0.114 B, no resize (already 224x224, and area resize to the same size is the identity),
(v - 0.5) / 0.5, NCHW [N,1,224,224].
Bootstrap: 2000 resamples of the test cases (percentile 95% CI), seed 12345.
ECE: 15 equal-width bins over the top-label confidence (Guo et al. 2017).
manifest.json: the output, templates and metrics sections are rewritten, every other key is kept
(models/_shared/manifestio.py).
"""
import json
import os
import sys

import numpy as np

# Metrics, the ONNX executor and the Kermany reader shared by every model's scripts (see each module).
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
from evalkit import full_report  # noqa: E402
from kermany_data import jpeg_to_input, kermany_files  # noqa: E402
from manifestio import write_manifest  # noqa: E402
from onnxexec import OnnxNumpy, run_batched  # noqa: E402

DATA = os.environ.get('CXR_DATA_DIR', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
MEAN, STD = 0.5, 0.5
BATCH = 16     # images per executor call


def load_test():
    fs, y = kermany_files(os.path.join(DATA, 'kermany-cxr-224'), 'test')
    x = np.stack([jpeg_to_input(f) for f in fs])
    return fs, x, y


# Published / project bars on the same 624 test images (see MODEL_CARD.md).
BARS = {
    'pneumonia_cxr_28_service_path': {'auc': 0.9601, 'accuracy': 0.8942, 'sensitivity': 0.9769, 'specificity': 0.7564,
                                      'source': 'models/pneumonia-cxr-28/manifest.json metrics (Kermany test, whole '
                                                'image area-averaged to 28x28)'},
    'pneumonia_cxr_28_pneumoniamnist': {'auc': 0.9812, 'accuracy_at_0.5_argmax': 0.9263,
                                        'source': 'models/pneumonia-cxr-28 metrics.json, PneumoniaMNIST test'},
    'medmnist_resnet18_224': {'auc': 0.956, 'accuracy': 0.864,
                              'source': 'MedMNIST v2 Table 3, ResNet-18 (224), PneumoniaMNIST (shared/data/README.md)'},
    'medmnist_resnet50_224': {'auc': 0.962, 'accuracy': 0.884,
                              'source': 'MedMNIST v2 Table 3, ResNet-50 (224), PneumoniaMNIST: the published value, '
                                        'not re-checked here and not in shared/data/README.md'},
}

MANIFEST_TEMPLATE = {
    'schemaVersion': 1,
    'id': 'pneumonia-cxr-224',
    'version': '1.0.0',
    'name': 'Paediatric pneumonia classifier, chest radiograph, 224x224',
    'manufacturer': 'imaging-cds project',
    'task': 'classification',
    'file': 'model.onnx',
    'intendedUse': 'Research decision support: flags paediatric AP/PA chest radiographs that may show pneumonia. '
                   'Preliminary AI output, not for clinical use.',
    'accepts': {'modalities': ['CR', 'DX'], 'bodyParts': ['CHEST'], 'viewPositions': ['PA', 'AP']},
    'input': {'name': 'image', 'width': 224, 'height': 224, 'channels': 1,
              'windowing': {'kind': 'dicom'}, 'resize': 'area',
              'normalization': {'mean': [MEAN], 'std': [STD]}},
}


def main():
    metrics_path = os.path.join(HERE, 'metrics.json')
    with open(metrics_path) as f:
        metrics = json.load(f)
    if 'test' in metrics:
        print('metrics.json already has a test section: the test split is evaluated once. '
              'Re-run train.py first to start over.', file=sys.stderr)
        return 1
    T = float(metrics['calibration']['temperature'])
    thr = float(metrics['operating_point']['threshold'])
    band = [float(v) for v in metrics['operating_point']['review_band']]
    runner = OnnxNumpy(os.path.join(HERE, 'model.onnx'), conv='im2col')

    fs, x, y = load_test()
    logits = run_batched(runner, x, BATCH)
    rep = full_report(y, logits, T, thr, band)
    print('Kermany-224 test, whole image 224x224', json.dumps(rep, indent=1), flush=True)

    b = BARS
    metrics['test'] = {
        'note': 'evaluated once on the official test split after every choice was fixed on val',
        'executor': 'model.onnx via the float64 NumPy ONNX executor of models/_shared/onnxexec.py',
        'preprocessing': 'PIL decode, float BT.601 grey of RGB/255, (v-0.5)/0.5, no resize',
        'bootstrap': '2000 case resamples, percentile 95% CI, seed 12345',
        'ece': 'top-label ECE, 15 equal-width confidence bins',
        'kermany224_test': rep,
        'bars': b,
        'beats': {
            'pneumonia_cxr_28_service_path_auc': bool(rep['auc'] > b['pneumonia_cxr_28_service_path']['auc']),
            'pneumonia_cxr_28_pneumoniamnist_auc': bool(rep['auc'] > b['pneumonia_cxr_28_pneumoniamnist']['auc']),
            'medmnist_resnet18_224_auc': bool(rep['auc'] > b['medmnist_resnet18_224']['auc']),
            'medmnist_resnet18_224_accuracy_at_0.5_argmax': bool(rep['accuracy_at_0.5_argmax'] > b['medmnist_resnet18_224']['accuracy']),
            'medmnist_resnet50_224_auc': bool(rep['auc'] > b['medmnist_resnet50_224']['auc']),
            'medmnist_resnet50_224_accuracy_at_0.5_argmax': bool(rep['accuracy_at_0.5_argmax'] > b['medmnist_resnet50_224']['accuracy']),
        },
    }
    with open(metrics_path, 'w') as f:
        json.dump(metrics, f, indent=2)

    r4 = lambda v: round(float(v), 4)  # noqa: E731
    computed = {}
    computed['output'] = {
        'name': 'logits', 'activation': 'softmax', 'temperature': r4(T),
        'labels': [
            {'index': 0, 'key': 'normal', 'display': 'No pneumonia', 'report': False},
            {'index': 1, 'key': 'pneumonia', 'display': 'Pneumonia', 'report': True,
             'codes': [{'system': 'http://snomed.info/sct', 'code': '233604007', 'display': 'Pneumonia'},
                       {'system': 'http://radlex.org', 'code': 'RID5350', 'display': 'pneumonia'}],
             'threshold': r4(thr), 'reviewBand': [r4(band[0]), r4(band[1])], 'urgency': 'warning'},
        ],
    }
    computed['templates'] = {'card': 'classification-card', 'report': 'classification-report'}
    computed['metrics'] = {
        'dataset': 'Kermany ChestXRay2017 test split, whole image at 224x224 (n=624)',
        'auc': rep['auc'], 'auc95': rep['auc95'],
        'accuracy': rep['accuracy'], 'accuracy95': rep['accuracy95'],
        'sensitivity': rep['sensitivity'], 'sensitivity95': rep['sensitivity95'],
        'specificity': rep['specificity'], 'specificity95': rep['specificity95'],
        'accuracyAt05Argmax': rep['accuracy_at_0.5_argmax'],
        'eceBeforeTemperature': rep['ece15_before_temperature'],
        'eceAfterTemperature': rep['ece15_after_temperature'],
    }
    lab = computed['output']['labels'][1]
    assert lab['reviewBand'][0] <= lab['threshold'] <= lab['reviewBand'][1]
    write_manifest(os.path.join(HERE, 'manifest.json'), MANIFEST_TEMPLATE, computed)
    print('wrote metrics.json (test section) and manifest.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
