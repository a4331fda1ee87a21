#!/usr/bin/python3
"""Evaluate model.onnx on the Kermany test split ONCE and write the test metrics + manifest.json.

    /usr/bin/python3 models/pneumonia-cxr-224/evaluate.py

Reads the shipped model.onnx (no torch checkpoint is kept) and executes the ONNX graph with a
small float64 NumPy reference executor (`OnnxNumpy`; onnxruntime's Python package is not
installed on the project machine). train.py checks this executor against torch at export time.
Temperature, threshold and review band come from metrics.json (written by train.py, chosen on
val).

Test data: kermany-cxr-224/test/{NORMAL,PNEUMONIA}/*.jpeg (n=624, the same 624 images as the
PneumoniaMNIST test split), preprocessed exactly as the runtime does it: PIL decode, RGB/255 as
float64, grey = 0.299 R + 0.587 G + 0.114 B, no resize (already 224x224, and area resize to the
same size is the identity), (v - 0.5) / 0.5, NCHW [N,1,224,224].
Bootstrap: 2000 resamples of the test cases (percentile 95% CI), seed 12345.
ECE: 15 equal-width bins over the top-label confidence (Guo et al. 2017).
"""
import glob
import json
import os
import sys

import numpy as np

# Metrics and calibration shared by every model's scripts (one copy, see the module).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '_shared'))
from evalkit import auc, bootstrap, ece, full_report, point_metrics, probability, rankdata  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get('CXR_DATA_DIR', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
MEAN, STD = 0.5, 0.5
BT601 = (0.299, 0.587, 0.114)


# ----------------------------------------------------------------------------- ONNX executor
class OnnxNumpy:
    """Executes the few ONNX operators this CNN exports to, in float64 NumPy.
    Raises on any operator or attribute it does not implement (never silently wrong)."""

    def __init__(self, path):
        import onnx
        from onnx import numpy_helper
        self.model = onnx.load(path)
        onnx.checker.check_model(self.model)
        g = self.model.graph
        self.inits = {}
        for i in g.initializer:
            a = numpy_helper.to_array(i)
            self.inits[i.name] = a.astype(np.float64) if a.dtype.kind == 'f' else a
        self.inputs = [i.name for i in g.input if i.name not in self.inits]
        self.outputs = [o.name for o in g.output]
        self.nodes = list(g.node)

    @staticmethod
    def _attrs(node):
        import onnx
        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    @staticmethod
    def _conv(x, w, b, a):
        if a.get('group', 1) != 1 or any(d != 1 for d in a.get('dilations', [1, 1])):
            raise NotImplementedError('Conv group/dilation')
        if a.get('auto_pad', b'NOTSET') not in (b'NOTSET', 'NOTSET'):
            raise NotImplementedError('Conv auto_pad')
        kh, kw = w.shape[2:]
        pt, pl, pb, pr = a.get('pads', [0, 0, 0, 0])
        sh, sw = a.get('strides', [1, 1])
        x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
        n, c, h, wd = x.shape
        oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
        s = x.strides
        cols = np.lib.stride_tricks.as_strided(
            x, (n, oh, ow, c, kh, kw), (s[0], s[2] * sh, s[3] * sw, s[1], s[2], s[3]))
        cols = np.ascontiguousarray(cols).reshape(n * oh * ow, c * kh * kw)
        y = (cols @ w.reshape(w.shape[0], -1).T).reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)
        if b is not None:
            y = y + b[None, :, None, None]
        return np.ascontiguousarray(y)

    @staticmethod
    def _maxpool(x, a):
        # not in this model's graph; used by compare_28.py to run pneumonia-cxr-28's model.onnx
        kh, kw = a['kernel_shape']
        sh, sw = a.get('strides', [1, 1])
        if any(a.get('pads', [0, 0, 0, 0])) or a.get('ceil_mode', 0) or any(d != 1 for d in a.get('dilations', [1, 1])):
            raise NotImplementedError('MaxPool pads/ceil_mode/dilations')
        n, c, h, w = x.shape
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        s = x.strides
        win = np.lib.stride_tricks.as_strided(x, (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]))
        return win.max(axis=(4, 5))

    def run(self, x):
        env = dict(self.inits)
        env[self.inputs[0]] = np.asarray(x, dtype=np.float64)
        for node in self.nodes:
            a = self._attrs(node)
            ins = [env[i] if i else None for i in node.input]
            op = node.op_type
            if op == 'Conv':
                y = self._conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
            elif op == 'BatchNormalization':
                x_, sc, bi, mu, var = ins[:5]
                eps = a.get('epsilon', 1e-5)
                sh = (1, -1) + (1,) * (x_.ndim - 2)
                y = (x_ - mu.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * sc.reshape(sh) + bi.reshape(sh)
            elif op == 'Relu':
                y = np.maximum(ins[0], 0)
            elif op == 'MaxPool':
                y = self._maxpool(ins[0], a)
            elif op == 'GlobalAveragePool':
                y = ins[0].mean(axis=(2, 3), keepdims=True)
            elif op == 'Flatten':
                ax = a.get('axis', 1)
                y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
            elif op == 'Gemm':
                A, B = ins[0], ins[1]
                if a.get('transA', 0):
                    A = A.T
                if a.get('transB', 0):
                    B = B.T
                y = a.get('alpha', 1.0) * (A @ B)
                if len(ins) > 2 and ins[2] is not None:
                    y = y + a.get('beta', 1.0) * ins[2]
            elif op == 'Add':
                y = ins[0] + ins[1]
            elif op == 'Identity':
                y = ins[0]
            elif op == 'Reshape':
                y = ins[0].reshape([int(v) if v != 0 else ins[0].shape[i] for i, v in enumerate(ins[1])])
            else:
                raise NotImplementedError(f'ONNX op {op}')
            env[node.output[0]] = y
        return env[self.outputs[0]]


# ----------------------------------------------------------------------------- preprocessing
def jpeg_to_input(path):
    """224x224 JPEG -> model input [1,224,224], float64, as the runtime computes it."""
    from PIL import Image
    im = Image.open(path)
    if im.mode == 'L':
        v = np.asarray(im, dtype=np.float64) / 255.0
    else:
        rgb = np.asarray(im.convert('RGB'), dtype=np.float64) / 255.0
        v = BT601[0] * rgb[..., 0] + BT601[1] * rgb[..., 1] + BT601[2] * rgb[..., 2]
    if v.shape != (224, 224):
        raise ValueError(f'{path}: expected 224x224, got {v.shape}')
    return ((v - MEAN) / STD)[None]


# ----------------------------------------------------------------------------- metrics
def load_test():
    root = os.path.join(DATA, 'kermany-cxr-224', 'test')
    fs = sorted(glob.glob(os.path.join(root, 'NORMAL', '*.jpeg'))) + \
        sorted(glob.glob(os.path.join(root, 'PNEUMONIA', '*.jpeg')))
    x = np.stack([jpeg_to_input(f) for f in fs])
    y = np.array([0 if os.sep + 'NORMAL' + os.sep in f else 1 for f in fs], dtype=np.int64)
    return fs, x, y


def run_batched(runner, x, bs=16):
    return np.concatenate([runner.run(x[i:i + bs]) for i in range(0, len(x), bs)])


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
    runner = OnnxNumpy(os.path.join(HERE, 'model.onnx'))

    fs, x, y = load_test()
    logits = run_batched(runner, x)
    rep = full_report(y, logits, T, thr, band)
    print('Kermany-224 test, whole image 224x224', json.dumps(rep, indent=1), flush=True)

    b = BARS
    metrics['test'] = {
        'note': 'evaluated once on the official test split after every choice was fixed on val',
        'executor': 'model.onnx via the float64 NumPy ONNX executor in evaluate.py',
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
    manifest = dict(MANIFEST_TEMPLATE)
    manifest['output'] = {
        'name': 'logits', 'activation': 'softmax', 'temperature': r4(T),
        'labels': [
            {'index': 0, 'key': 'normal', 'display': 'No pneumonia', 'report': False},
            {'index': 1, 'key': 'pneumonia', 'display': 'Pneumonia', 'report': True,
             'codes': [{'system': 'http://snomed.info/sct', 'code': '233604007', 'display': 'Pneumonia'},
                       {'system': 'http://radlex.org', 'code': 'RID5350', 'display': 'pneumonia'}],
             'threshold': r4(thr), 'reviewBand': [r4(band[0]), r4(band[1])], 'urgency': 'warning'},
        ],
    }
    manifest['templates'] = {'card': 'classification-card', 'report': 'classification-report'}
    manifest['metrics'] = {
        'dataset': 'Kermany ChestXRay2017 test split, whole image at 224x224 (n=624)',
        'auc': rep['auc'], 'auc95': rep['auc95'],
        'accuracy': rep['accuracy'], 'accuracy95': rep['accuracy95'],
        'sensitivity': rep['sensitivity'], 'sensitivity95': rep['sensitivity95'],
        'specificity': rep['specificity'], 'specificity95': rep['specificity95'],
        'accuracyAt05Argmax': rep['accuracy_at_0.5_argmax'],
        'eceBeforeTemperature': rep['ece15_before_temperature'],
        'eceAfterTemperature': rep['ece15_after_temperature'],
    }
    lab = manifest['output']['labels'][1]
    assert lab['reviewBand'][0] <= lab['threshold'] <= lab['reviewBand'][1]
    with open(os.path.join(HERE, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    print('wrote metrics.json (test section) and manifest.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
