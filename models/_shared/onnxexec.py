"""A small NumPy executor for the shipped ONNX graphs, used to evaluate and to check exports.

The model scripts run the shipped model.onnx files without onnxruntime (its Python package is
not part of the toolchain): `OnnxNumpy` interprets the few operators the exported networks use
(plain CNNs, the retina-dr-28 grouped output, the DRIVE U-Net) and raises on any operator or
attribute it does not implement, so it is never silently wrong. train.py checks it against torch
at export time; evaluate.py computes every test number with it.

Precision and convolution algorithm are chosen per model, as its numbers were produced:
  * dtype=np.float64 (the classifiers' reference executor) or np.float32 (the DRIVE U-Net, on
    full 565x584 fundus photographs);
  * conv='einsum' (28x28 classifiers), 'im2col' (one BLAS matmul per layer; pneumonia-cxr-224 and
    its comparison script) or 'shifted' (one matmul per kernel offset, stride 1; the U-Net: no
    im2col buffer at full resolution). The three compute the same convolution but sum in a
    different order, so their outputs agree to rounding, not bit for bit.

Also here: `run_batched` (a first output over mini-batches) and `check_onnxruntime_node` (the
same graph through onnxruntime-node, the service's engine, when node and the package exist).

Scripts import it with

    sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
    from onnxexec import OnnxNumpy, run_batched
"""
import json
import os

import numpy as np

CONV_ALGORITHMS = ('einsum', 'im2col', 'shifted')


class OnnxNumpy:
    """Executes an ONNX graph with NumPy. run(x) -> the first output; run_all(x) -> every output."""

    def __init__(self, path, dtype=np.float64, conv='einsum'):
        import onnx
        from onnx import numpy_helper
        if conv not in CONV_ALGORITHMS:
            raise ValueError(f'conv must be one of {CONV_ALGORITHMS}')
        self.onnx = onnx
        self.numpy_helper = numpy_helper
        self.dtype = np.dtype(dtype)
        self.conv = conv
        self.model = onnx.load(path)
        onnx.checker.check_model(self.model)
        g = self.model.graph
        self.inits = {}
        for i in g.initializer:
            a = numpy_helper.to_array(i)
            self.inits[i.name] = a.astype(self.dtype) if a.dtype.kind == 'f' else a
        self.inputs = [i.name for i in g.input if i.name not in self.inits]
        self.outputs = [o.name for o in g.output]
        self.nodes = list(g.node)

    def _attrs(self, node):
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    # ------------------------------------------------------------------------- convolution
    @staticmethod
    def _conv_checks(a):
        if a.get('group', 1) != 1 or any(d != 1 for d in a.get('dilations', [1, 1])):
            raise NotImplementedError('Conv group/dilation')
        if a.get('auto_pad', b'NOTSET') not in (b'NOTSET', 'NOTSET'):
            raise NotImplementedError('Conv auto_pad')

    @staticmethod
    def _conv_einsum(x, w, b, a):
        kh, kw = w.shape[2:]
        pt, pl, pb, pr = a.get('pads', [0, 0, 0, 0])
        sh, sw = a.get('strides', [1, 1])
        x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
        n, c, h, wd = x.shape
        oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
        s = x.strides
        cols = np.lib.stride_tricks.as_strided(
            x, (n, c, kh, kw, oh, ow), (s[0], s[1], s[2], s[3], s[2] * sh, s[3] * sw))
        y = np.einsum('nckluv,ockl->nouv', cols, w, optimize=True)
        if b is not None:
            y = y + b[None, :, None, None]
        return y

    @staticmethod
    def _conv_im2col(x, w, b, a):
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
    def _conv_shifted(x, w, b, a):
        if any(s != 1 for s in a.get('strides', [1, 1])):
            raise NotImplementedError('Conv stride (shifted algorithm)')
        o, c, kh, kw = w.shape
        pt, pl, pb, pr = a.get('pads', [0, 0, 0, 0])
        xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
        n, _, h, wd = xp.shape
        oh, ow = h - kh + 1, wd - kw + 1
        y = np.zeros((n, o, oh * ow), dtype=x.dtype)
        for bi in range(n):
            for i in range(kh):
                for j in range(kw):
                    y[bi] += w[:, :, i, j] @ np.ascontiguousarray(xp[bi, :, i:i + oh, j:j + ow]).reshape(c, -1)
        y = y.reshape(n, o, oh, ow)
        if b is not None:
            y += b[None, :, None, None]
        return y

    def _conv(self, x, w, b, a):
        self._conv_checks(a)
        return getattr(self, f'_conv_{self.conv}')(x, w, b, a)

    @staticmethod
    def _conv_transpose(x, w, b, a):
        kh, kw = w.shape[2:]
        if (list(a.get('strides', [1, 1])) != [kh, kw] or any(a.get('pads', [0, 0, 0, 0])) or a.get('group', 1) != 1
                or any(d != 1 for d in a.get('dilations', [1, 1])) or any(a.get('output_padding', [0, 0]))
                or 'output_shape' in a):
            raise NotImplementedError('ConvTranspose other than kernel == stride, no padding')
        n, c, h, wd = x.shape
        o = w.shape[1]
        y = np.empty((n, o, h, kh, wd, kw), dtype=x.dtype)
        xf = x.reshape(n, c, h * wd)
        for i in range(kh):
            for j in range(kw):
                y[:, :, :, i, :, j] = np.matmul(w[:, :, i, j].T[None], xf).reshape(n, o, h, wd)
        y = y.reshape(n, o, h * kh, wd * kw)
        if b is not None:
            y += b[None, :, None, None]
        return y

    # ------------------------------------------------------------------------- other operators
    @staticmethod
    def _maxpool(x, a):
        kh, kw = a['kernel_shape']
        sh, sw = a.get('strides', [1, 1])
        if any(a.get('pads', [0, 0, 0, 0])) or a.get('ceil_mode', 0) or any(d != 1 for d in a.get('dilations', [1, 1])):
            raise NotImplementedError('MaxPool pads/ceil_mode/dilations')
        n, c, h, w = x.shape
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        s = x.strides
        win = np.lib.stride_tricks.as_strided(x, (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]))
        return win.max(axis=(4, 5))

    @staticmethod
    def _slice(x, starts, ends, axes, steps):
        axes = list(range(len(starts))) if axes is None else [int(v) for v in axes]
        steps = [1] * len(starts) if steps is None else [int(v) for v in steps]
        sl = [slice(None)] * x.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps):
            ax = ax % x.ndim
            dim = x.shape[ax]
            s, e = int(s), int(e)
            if st > 0:
                s = max(0, min(dim, s + dim if s < 0 else s))
                e = max(0, min(dim, e + dim if e < 0 else e))
            else:
                s = max(-1, min(dim - 1, s + dim if s < 0 else s))
                e = max(-1, min(dim - 1, e + dim if e < 0 else e))
                if e < 0:
                    e = None
            sl[ax] = slice(s, e, st)
        return x[tuple(sl)]

    @staticmethod
    def _pad(ins, a):
        mode = a.get('mode', b'constant')
        mode = mode.decode() if isinstance(mode, bytes) else mode
        pads = [int(v) for v in ins[1]]
        k = ins[0].ndim
        if any(p < 0 for p in pads):
            raise NotImplementedError('negative Pad')
        width = [(pads[i], pads[i + k]) for i in range(k)]
        if mode in ('reflect', 'edge'):
            return np.pad(ins[0], width, mode=mode)
        if mode == 'constant':
            cval = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
            return np.pad(ins[0], width, mode='constant', constant_values=cval)
        raise NotImplementedError(f'Pad mode {mode}')

    def _node(self, op, ins, a):
        if op == 'Conv':
            return self._conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        if op == 'ConvTranspose':
            return self._conv_transpose(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        if op == 'BatchNormalization':
            x_, sc, bi, mu, var = ins[:5]
            eps = a.get('epsilon', 1e-5)
            sh = (1, -1) + (1,) * (x_.ndim - 2)
            return (x_ - mu.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * sc.reshape(sh) + bi.reshape(sh)
        if op == 'Relu':
            return np.maximum(ins[0], 0)
        if op == 'MaxPool':
            return self._maxpool(ins[0], a)
        if op == 'GlobalAveragePool':
            return ins[0].mean(axis=(2, 3), keepdims=True)
        if op == 'Flatten':
            ax = a.get('axis', 1)
            return ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        if op == 'Gemm':
            A, B = ins[0], ins[1]
            if a.get('transA', 0):
                A = A.T
            if a.get('transB', 0):
                B = B.T
            y = a.get('alpha', 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get('beta', 1.0) * ins[2]
            return y
        if op == 'Add':
            return ins[0] + ins[1]
        if op == 'Identity':
            return ins[0]
        if op == 'Reshape':
            if a.get('allowzero', 0):
                raise NotImplementedError('Reshape allowzero')
            return ins[0].reshape([int(v) if v != 0 else ins[0].shape[i] for i, v in enumerate(ins[1])])
        if op == 'Transpose':
            return np.transpose(ins[0], a.get('perm'))
        if op == 'Concat':
            return np.concatenate(ins, axis=int(a['axis']))
        if op == 'Constant':
            if set(a) != {'value'}:
                raise NotImplementedError('Constant other than value')
            y = self.numpy_helper.to_array(a['value'])
            return y.astype(self.dtype) if y.dtype.kind == 'f' else y
        if op == 'ConstantOfShape':
            v = self.numpy_helper.to_array(a['value']) if 'value' in a else np.zeros(1, np.float32)
            return np.full([int(s) for s in ins[0]], v.reshape(-1)[0], dtype=v.dtype)
        if op == 'Slice':
            return self._slice(ins[0], ins[1], ins[2], ins[3] if len(ins) > 3 else None, ins[4] if len(ins) > 4 else None)
        if op == 'ReduceLogSumExp':
            axes = tuple(int(v) for v in a['axes'])
            m = ins[0].max(axis=axes, keepdims=True)
            y = np.log(np.exp(ins[0] - m).sum(axis=axes, keepdims=True)) + m
            return y if a.get('keepdims', 1) else np.squeeze(y, axis=axes)
        if op == 'Cast':
            dt = {1: np.float32, 6: np.int32, 7: np.int64, 11: np.float64}.get(a['to'])
            if dt is None:
                raise NotImplementedError(f"Cast to {a['to']}")
            return ins[0].astype(dt)
        if op == 'Pad':
            return self._pad(ins, a)
        raise NotImplementedError(f'ONNX op {op}')

    def run_all(self, x):
        """Feeds x to the graph's (single) input; returns {output name: array} for every output."""
        env = dict(self.inits)
        env[self.inputs[0]] = np.asarray(x, dtype=self.dtype)
        for node in self.nodes:
            if sum(1 for o in node.output if o) != 1:
                raise NotImplementedError(f'{node.op_type} with several outputs')
            ins = [env[i] if i else None for i in node.input]
            env[node.output[0]] = self._node(node.op_type, ins, self._attrs(node))
        return {name: env[name] for name in self.outputs}

    def run(self, x):
        return self.run_all(x)[self.outputs[0]]


def run_batched(runner, x, bs):
    """runner.run over mini-batches of bs cases, concatenated."""
    return np.concatenate([runner.run(x[i:i + bs]) for i in range(0, len(x), bs)])


def check_onnxruntime_node(onnx_path, x, repo_root):
    """Runs x ([N,3,H,W] float32) through onnxruntime-node (the runtime's engine) if node and
    node_modules/onnxruntime-node exist; returns the logits or None."""
    import shutil
    import subprocess
    import tempfile
    node = shutil.which('node')
    ort = os.path.join(repo_root, 'node_modules', 'onnxruntime-node')
    if node is None or not os.path.isdir(ort):
        return None
    x = np.ascontiguousarray(x, dtype=np.float32)
    with tempfile.TemporaryDirectory() as td:
        fin, fout = os.path.join(td, 'in.f32'), os.path.join(td, 'out.f32')
        x.tofile(fin)
        js = (
            "const ort=require(process.argv[1]);const fs=require('fs');(async()=>{"
            "const s=await ort.InferenceSession.create(process.argv[2]);"
            "const dims=JSON.parse(process.argv[3]);const b=fs.readFileSync(process.argv[4]);"
            "const a=new Float32Array(b.buffer,b.byteOffset,b.length/4);"
            "const r=await s.run({image:new ort.Tensor('float32',Float32Array.from(a),dims)});"
            "const o=r.logits;fs.writeFileSync(process.argv[5],Buffer.from(o.data.buffer,o.data.byteOffset,o.data.byteLength));"
            "console.log(JSON.stringify(o.dims));})().catch(e=>{console.error(e);process.exit(1);});")
        res = subprocess.run([node, '-e', js, ort, onnx_path, json.dumps(list(x.shape)), fin, fout],
                             capture_output=True, text=True, timeout=600)
        if res.returncode != 0:
            print('onnxruntime-node check failed:', res.stderr[-2000:], flush=True)
            return None
        dims = json.loads(res.stdout.strip().splitlines()[-1])
        return np.fromfile(fout, dtype=np.float32).reshape(dims)
