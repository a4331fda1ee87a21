/**
 * Inference latency and throughput per shipped model (every folder of models/, those shipped
 * switched off included), in alternating rounds on the same machine:
 *
 *   A   onnxruntime-node, the service's runtime: a bare InferenceSession on the model's .onnx,
 *       and (as its own column) the service's engine path: createInferenceEngine (preprocessing,
 *       the micro-batcher with maxWaitMs 0, the session, post-processing; no saliency maps)
 *   B   onnxruntime for Python on the same .onnx files, in a persistent worker process
 *       (bench/inference/worker.py --backend ort)
 *   C   only where it can be rebuilt faithfully: the PyTorch module that the model's train.py
 *       defines, in eval mode, with the trained weights read back from the ONNX initializers
 *       (worker.py --backend torch, which says how and refuses a model it cannot rebuild); its
 *       outputs must match onnxruntime-node's before it is timed
 *
 * A against B is the same graph and the same kernels through two bindings: it measures the
 * binding, not the runtime. A against C is onnxruntime against PyTorch eager on one network.
 * Each side gets the same number of intra-op threads (default 1) and 1 inter-op thread; a worker
 * waits on its stdin while the other side runs, so two sides never run at once. Every round
 * runs every side on every model, the order of the sides reversed every other round; each side
 * warms up in each round before it is timed. Per model the bench prints the pooled medians, and
 * the ratio's median over rounds with its range (min–max), for batch-1 latency and batched
 * throughput, and how far the outputs are apart (max |Δ| on the same inputs).
 *
 *   npm run build && node dist/bench/inference.js --python /tmp/benchvenv/bin/python
 *     [--threads 1] [--rounds 10] [--iters 20] [--batch 64] [--batch-iters 5] [--models DIR]
 *     [--only id,id] [--torch-python PY | --no-torch]
 *
 * The Python side needs onnxruntime (the same version as onnxruntime-node), numpy, and for C
 * torch, onnx and pillow (train.py imports PIL at load), e.g. in a virtual environment outside
 * the repository:
 *   python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install onnxruntime==1.30.* numpy onnx torch pillow
 * Nothing of this is a dependency of the service or of npm test.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { createInferenceEngine, type InferenceEngine, type InputImage } from '../src/inference/index.js';
import { startPyWorker, type PyWorker } from './inference/py-worker.js';
import { formatSpread, median, quantile, spread, table, type Spread } from './stats.js';

interface ModelInfo {
  readonly id: string;
  readonly dir: string;
  readonly onnx: string;
  readonly enabled: boolean;
  readonly inputName: string;
  readonly outputName: string;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Images per batched run, b1 runs and batched runs per side per round, warm-up runs. */
  readonly batch: number;
  readonly iters: number;
  readonly batchIters: number;
  readonly warmup: number;
}

type Side = 'node' | 'engine' | 'ortpy' | 'torch';
const SIDE_NAMES: Record<Side, string> = {
  node: 'onnxruntime-node InferenceSession',
  engine: 'service engine (onnxruntime-node)',
  ortpy: 'onnxruntime (Python)',
  torch: 'PyTorch eager (train.py module)',
};

/** One side's samples on one model: per round, batch-1 times and batched-run times (ms). */
interface Samples {
  b1: number[][];
  batched: number[][];
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.basename(path.resolve(HERE, '..')) === 'dist' ? path.resolve(HERE, '..', '..') : path.resolve(HERE, '..');
const WORKER = path.join(ROOT, 'bench', 'inference', 'worker.py');

function seeded(n: number, seed: number, lo: number, hi: number): Float32Array {
  // Small LCG: reproducible inputs without a dependency.
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s / 2 ** 32) * (hi - lo);
  }
  return out;
}

/**
 * Batch size and runs per round for one model. A large input (a 565×584 colour photograph)
 * gets a smaller batch, so its activations stay within memory, and fewer runs, so a round
 * stays within seconds; small inputs keep the requested values.
 */
function sizing(per: number, batch: number, iters: number, batchIters: number): Pick<ModelInfo, 'batch' | 'iters' | 'batchIters' | 'warmup'> {
  const scale = Math.min(1, (224 * 224 * 3) / per);
  return {
    batch: Math.max(1, Math.min(batch, Math.floor(4_000_000 / per))),
    iters: Math.max(5, Math.round(iters * scale)),
    batchIters: Math.max(3, Math.round(batchIters * scale)),
    warmup: Math.max(2, Math.round(10 * scale)),
  };
}

function listModels(modelsDir: string, batch: number, iters: number, batchIters: number, only: readonly string[]): ModelInfo[] {
  const out: ModelInfo[] = [];
  for (const dir of readdirSync(modelsDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = path.join(modelsDir, dir.name, 'manifest.json');
    if (!dir.isDirectory() || dir.name.startsWith('_') || !existsSync(file)) continue;
    const m = JSON.parse(readFileSync(file, 'utf8')) as {
      id: string; file: string; enabled?: boolean; input: { name: string; channels: number; height: number; width: number }; output: { name: string };
    };
    if (only.length > 0 && !only.includes(m.id)) continue;
    const per = m.input.channels * m.input.height * m.input.width;
    out.push({
      id: m.id, dir: path.join(modelsDir, dir.name), onnx: path.join(modelsDir, dir.name, m.file), enabled: m.enabled !== false,
      inputName: m.input.name, outputName: m.output.name, channels: m.input.channels, height: m.input.height, width: m.input.width,
      ...sizing(per, batch, iters, batchIters),
    });
  }
  return out;
}

async function timeAsync(fn: () => Promise<unknown>, warmup: number, iters: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
}

function maxAbs(a: Float32Array): number {
  let d = 0;
  for (const v of a) d = Math.max(d, Math.abs(v));
  return d;
}

function readF32(file: string): Float32Array {
  const buf = readFileSync(file);
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

const fmtMs = (v: number): string => (v >= 100 ? v.toFixed(1) : v >= 10 ? v.toFixed(2) : v.toFixed(3));
const fmtRate = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtDiff = (v: number): string => (v === 0 ? '0 (identical)' : v.toExponential(1));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '10' },
      iters: { type: 'string', default: '20' },
      batch: { type: 'string', default: '64' },
      'batch-iters': { type: 'string', default: '5' },
      models: { type: 'string', default: path.join(ROOT, 'models') },
      only: { type: 'string', default: '' },
      python: { type: 'string', default: process.env['BENCH_PYTHON'] ?? 'python3' },
      'torch-python': { type: 'string' },
      'no-torch': { type: 'boolean', default: false },
    },
  });
  const threads = Number(values.threads);
  const rounds = Number(values.rounds);
  const only = values.only.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const models = listModels(values.models, Number(values.batch), Number(values.iters), Number(values['batch-iters']), only);
  if (models.length === 0) throw new Error(`no model folders under ${values.models}`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-inference-'));
  const workers: PyWorker[] = [];
  let engine: InferenceEngine | undefined;
  const sessions = new Map<string, ort.InferenceSession>();

  try {
    // ---------------------------------------------------------------- set-up, nothing timed
    const py = await startPyWorker(values.python, WORKER, 'ort', threads).catch((err: unknown) => {
      throw new Error(`onnxruntime for Python is needed (side B): ${err instanceof Error ? err.message : String(err)}\n` +
        'Create a venv outside the repository (see the header of bench/inference.ts) and pass --python PATH or BENCH_PYTHON.');
    });
    workers.push(py.worker);
    let torch: { worker: PyWorker; versions: Record<string, unknown> } | undefined;
    let torchMissing: string | undefined;
    if (!values['no-torch']) {
      try {
        torch = await startPyWorker(values['torch-python'] ?? values.python, WORKER, 'torch', threads);
        workers.push(torch.worker);
      } catch (err) {
        torchMissing = (err instanceof Error ? err.message : String(err)).split('\n').filter((l) => l.trim() !== '').slice(-1)[0] ?? 'failed';
      }
    } else torchMissing = 'switched off (--no-torch)';

    const inputs = new Map<string, { x1: Float32Array; xb: Float32Array; x1File: string; xbFile: string }>();
    const torchOk = new Map<string, { module: string; maxDiff: number; tol: number }>();
    const torchLeftOut = new Map<string, string>();
    const pyDiff = new Map<string, number>();

    for (const m of models) {
      const per = m.channels * m.height * m.width;
      const x1 = seeded(per, 1, -1, 1);
      const xb = seeded(m.batch * per, 2, -1, 1);
      const x1File = path.join(tmp, `${m.id}.x1.f32`);
      const xbFile = path.join(tmp, `${m.id}.xb.f32`);
      writeFileSync(x1File, x1);
      writeFileSync(xbFile, xb);
      inputs.set(m.id, { x1, xb, x1File, xbFile });
      const session = await ort.InferenceSession.create(m.onnx, {
        executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
      });
      sessions.set(m.id, session);

      // Outputs on the batched input, every graph output, each side; compared before any timing.
      const nodeOut = await session.run({ [m.inputName]: new ort.Tensor('float32', xb, [m.batch, m.channels, m.height, m.width]) });
      const load = { op: 'load', id: m.id, onnx: m.onnx, modelDir: m.dir, repoRoot: ROOT, inputName: m.inputName, outputNames: [m.outputName], shape: [m.channels, m.height, m.width] };
      const loaded = await py.worker.ask(load);
      if (!loaded.ok) throw new Error(`onnxruntime (Python) could not load ${m.id}: ${loaded.error ?? ''}`);
      const shape = [m.batch, m.channels, m.height, m.width];
      const pyRun = await py.worker.ask({ op: 'run', id: m.id, x: xbFile, shape, outDir: tmp, tag: `${m.id}-ortpy` });
      if (!pyRun.ok) throw new Error(`onnxruntime (Python) failed on ${m.id}: ${pyRun.error ?? ''}`);
      let d = 0;
      for (const [name, o] of Object.entries(pyRun['outputs'] as Record<string, { file: string }>)) {
        d = Math.max(d, maxAbsDiff(nodeOut[name]?.data as Float32Array, readF32(o.file)));
      }
      pyDiff.set(m.id, d);

      if (torch !== undefined) {
        const t = await torch.worker.ask(load);
        if (!t.ok) {
          torchLeftOut.set(m.id, t.refused === true ? `not rebuilt: ${t.error ?? ''}` : `failed: ${t.error ?? ''}`);
        } else {
          const tRun = await torch.worker.ask({ op: 'run', id: m.id, x: xbFile, shape, outDir: tmp, tag: `${m.id}-torch` });
          if (!tRun.ok) torchLeftOut.set(m.id, `failed: ${tRun.error ?? ''}`);
          else {
            // Worst output relative to its tolerance: 1e-3 of the output's largest magnitude (at least 1e-3).
            let worst = { diff: 0, tol: 1e-3 };
            const missing: string[] = [];
            for (const name of session.outputNames) {
              const o = (tRun['outputs'] as Record<string, { file: string } | undefined>)[name];
              const ref = nodeOut[name]?.data as Float32Array;
              if (o === undefined) {
                missing.push(name);
                continue;
              }
              const cur = { diff: maxAbsDiff(ref, readF32(o.file)), tol: 1e-3 * Math.max(1, maxAbs(ref)) };
              if (!(cur.diff / cur.tol <= worst.diff / worst.tol)) worst = cur;
            }
            if (missing.length > 0) torchLeftOut.set(m.id, `the module gives no ${missing.join(', ')}`);
            else if (!(worst.diff <= worst.tol)) torchLeftOut.set(m.id, `outputs differ from ONNX: max |Δ| ${worst.diff.toExponential(2)} > tolerance ${worst.tol.toExponential(1)}`);
            else torchOk.set(m.id, { module: String(t['module']), maxDiff: worst.diff, tol: worst.tol });
          }
        }
      }
    }

    // The service's engine path over every model folder (enabled or not), no saliency maps.
    const maxBatch = Math.max(...models.map((m) => m.batch));
    engine = await createInferenceEngine({
      modelsDir: values.models,
      enabledModels: models.map((m) => m.id),
      saliency: 'never',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      maxBatch,
      maxWaitMs: 0,
      queueCapacity: 2 * maxBatch,
    });
    const engineModels = new Set(engine.models().map((m) => m.id));
    const engineImages = new Map<string, InputImage>();
    for (const m of models) {
      // Display-ready pixels in [0, 1] at the model's own size (the area resize is the identity).
      engineImages.set(m.id, { width: m.width, height: m.height, channels: m.channels as 1 | 3, data: seeded(m.channels * m.height * m.width, 3, 0, 1) });
    }

    // ---------------------------------------------------------------- alternating rounds
    const samples = new Map<string, Map<Side, Samples>>();
    const sidesOf = (m: ModelInfo): Side[] => [
      'node',
      ...(engineModels.has(m.id) ? (['engine'] as const) : []),
      'ortpy',
      ...(torchOk.has(m.id) ? (['torch'] as const) : []),
    ];
    for (const m of models) samples.set(m.id, new Map(sidesOf(m).map((s) => [s, { b1: [], batched: [] }])));

    const runSide = async (m: ModelInfo, side: Side): Promise<{ b1: number[]; batched: number[] }> => {
      const io = inputs.get(m.id);
      if (io === undefined) throw new Error('no inputs');
      if (side === 'node') {
        const session = sessions.get(m.id);
        if (session === undefined) throw new Error('no session');
        const t1 = { [m.inputName]: new ort.Tensor('float32', io.x1, [1, m.channels, m.height, m.width]) };
        const tb = { [m.inputName]: new ort.Tensor('float32', io.xb, [m.batch, m.channels, m.height, m.width]) };
        const out = [m.outputName];
        return {
          b1: await timeAsync(() => session.run(t1, out), m.warmup, m.iters),
          batched: await timeAsync(() => session.run(tb, out), 1, m.batchIters),
        };
      }
      if (side === 'engine') {
        const e = engine;
        const image = engineImages.get(m.id);
        if (e === undefined || image === undefined) throw new Error('no engine');
        const many = Array.from({ length: m.batch }, () => image);
        return {
          b1: await timeAsync(() => e.run(m.id, image), m.warmup, m.iters),
          batched: await timeAsync(() => Promise.all(many.map((img) => e.run(m.id, img))), 1, m.batchIters),
        };
      }
      const w = side === 'ortpy' ? py.worker : torch?.worker;
      if (w === undefined) throw new Error('no worker');
      const ask = async (x: string, shape: number[], warmup: number, iters: number): Promise<number[]> => {
        const a = await w.ask({ op: 'time', id: m.id, x, shape, warmup, iters });
        if (!a.ok) throw new Error(`${side} failed on ${m.id}: ${a.error ?? ''}`);
        return a['ms'] as number[];
      };
      return {
        b1: await ask(io.x1File, [1, m.channels, m.height, m.width], m.warmup, m.iters),
        batched: await ask(io.xbFile, [m.batch, m.channels, m.height, m.width], 1, m.batchIters),
      };
    };

    const started = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (const m of models) {
        const sides = sidesOf(m);
        const order = r % 2 === 0 ? sides : [...sides].reverse();
        for (const side of order) {
          const got = await runSide(m, side);
          const s = samples.get(m.id)?.get(side);
          s?.b1.push(got.b1);
          s?.batched.push(got.batched);
        }
      }
      process.stderr.write(`round ${r + 1}/${rounds} done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
    }

    // ---------------------------------------------------------------- report
    const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
    const pyV = py.versions;
    const out: string[] = [];
    out.push(`inference benchmark — ${cpu}, ${os.cpus().length} logical CPUs (${os.availableParallelism()} available), ${Math.round(os.totalmem() / 2 ** 30)} GiB; no GPU: every side on the CPU execution provider`);
    out.push(`node ${process.version}, onnxruntime-node ${ort.env.versions.common}; python ${String(pyV['python'])}, onnxruntime ${String(pyV['onnxruntime'])}, numpy ${String(pyV['numpy'])}` +
      (torch === undefined ? `; PyTorch: ${torchMissing ?? 'not run'}` : `; torch ${String(torch.versions['torch'])} (${torch.worker.python})`));
    out.push(`${threads} intra-op thread(s) and 1 inter-op thread per side; ${rounds} rounds, side order reversed every other round; inputs seeded random, the same bytes for every side`);
    out.push(`per round and side: batch-1 runs after warm-up (up to ${values.iters}), batched runs (up to ${values['batch-iters']}); a ratio is computed per round from that round's medians, shown as median over rounds (min–max)`);
    out.push(`sides: ${(Object.keys(SIDE_NAMES) as Side[]).map((k) => `${k} = ${SIDE_NAMES[k]}`).join('; ')}`);
    if (String(pyV['onnxruntime']) !== ort.env.versions.common) out.push(`NOTE: onnxruntime versions differ (node ${ort.env.versions.common}, python ${String(pyV['onnxruntime'])}): A vs B is then not the same kernels`);
    out.push('');

    const pooled = (s: Samples | undefined, key: 'b1' | 'batched'): number[] => (s === undefined ? [] : s[key].flat());
    const perRoundRatio = (num: Samples | undefined, den: Samples | undefined, key: 'b1' | 'batched'): Spread | undefined => {
      if (num === undefined || den === undefined) return undefined;
      return spread(num[key].map((v, i) => median(v) / median(den[key][i] ?? [])));
    };

    out.push('1) onnxruntime-node vs onnxruntime for Python — the same .onnx file, the same kernels, two bindings');
    const rowsA: string[][] = [[
      'model', 'shipped', 'node b1 ms p50 (p95)', 'python b1 ms p50 (p95)', 'python/node b1', 'engine b1 ms p50', 'batch', 'node img/s', 'python img/s', 'node/python img/s', 'max |Δ| node vs python',
    ]];
    for (const m of models) {
      const s = samples.get(m.id);
      const n = s?.get('node');
      const p = s?.get('ortpy');
      const e = s?.get('engine');
      const thr = (x: Samples | undefined): string => (x === undefined ? 'n/a' : fmtRate(m.batch / (median(pooled(x, 'batched')) / 1000)));
      const lat = perRoundRatio(p, n, 'b1');
      const tput = perRoundRatio(p, n, 'batched');
      rowsA.push([
        m.id,
        m.enabled ? 'on' : 'off',
        `${fmtMs(median(pooled(n, 'b1')))} (${fmtMs(quantile(pooled(n, 'b1'), 0.95))})`,
        `${fmtMs(median(pooled(p, 'b1')))} (${fmtMs(quantile(pooled(p, 'b1'), 0.95))})`,
        lat === undefined ? 'n/a' : formatSpread(lat),
        e === undefined ? 'not loaded' : fmtMs(median(pooled(e, 'b1'))),
        String(m.batch),
        thr(n),
        thr(p),
        tput === undefined ? 'n/a' : formatSpread(tput),
        fmtDiff(pyDiff.get(m.id) ?? NaN),
      ]);
    }
    out.push(table(rowsA));
    out.push('   python/node b1 > 1: the Python binding takes longer per image; node/python img/s > 1: node gets more images per second.');
    out.push('   engine b1: the service path for one display-ready image at the model size (preprocess, batcher with maxWaitMs 0, run, findings or');
    out.push('   mask + measurements); the service itself waits up to maxWaitMs = 2 ms for companions. Its outputs are post-processed, not compared here.');
    out.push('');

    out.push('2) onnxruntime-node vs PyTorch eager: the nn.Module of each train.py, eval mode, weights read back from the ONNX file (bench/inference/worker.py)');
    if (torch === undefined) {
      out.push(`   not run: ${torchMissing ?? ''}`);
    } else {
      const rowsC: string[][] = [['model', 'node b1 ms p50', 'torch b1 ms p50 (p95)', 'torch/node b1', 'batch', 'node img/s', 'torch img/s', 'node/torch img/s', 'max |Δ| torch vs node (tolerance)']];
      for (const m of models) {
        const ok = torchOk.get(m.id);
        if (ok === undefined) continue;
        const s = samples.get(m.id);
        const n = s?.get('node');
        const t = s?.get('torch');
        const lat = perRoundRatio(t, n, 'b1');
        const tput = perRoundRatio(t, n, 'batched');
        rowsC.push([
          m.id,
          fmtMs(median(pooled(n, 'b1'))),
          `${fmtMs(median(pooled(t, 'b1')))} (${fmtMs(quantile(pooled(t, 'b1'), 0.95))})`,
          lat === undefined ? 'n/a' : formatSpread(lat),
          String(m.batch),
          fmtRate(m.batch / (median(pooled(n, 'batched')) / 1000)),
          fmtRate(m.batch / (median(pooled(t, 'batched')) / 1000)),
          tput === undefined ? 'n/a' : formatSpread(tput),
          `${ok.maxDiff.toExponential(1)} (${ok.tol.toExponential(0)})`,
        ]);
      }
      out.push(table(rowsC));
      for (const m of models) {
        const ok = torchOk.get(m.id);
        if (ok !== undefined) out.push(`   ${m.id}: ${ok.module}`);
      }
      for (const [id, why] of torchLeftOut) out.push(`   ${id}: LEFT OUT — ${why}`);
      out.push('   BatchNorm layers still run (set to the identity plus the bias the export folded into the convolution); inputs NCHW contiguous, torch.inference_mode().');
    }
    out.push(`\n${rounds} rounds took ${((performance.now() - started) / 1000).toFixed(0)} s. The numbers are of this machine only; run on a machine shared with other work, read the spread.`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await engine?.close();
    for (const s of sessions.values()) await s.release();
    for (const w of workers) await w.stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
