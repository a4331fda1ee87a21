/**
 * Helpers for the inference tests: the tiny fixture models (test/fixtures/models, built by
 * make-tiny-models.py), throw-away models directories, images and a recording log.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClassificationManifest, ModelManifest } from '../../../../src/inference/manifest.js';
import type { InferenceLog } from '../../../../src/inference/types.js';
import type { Image } from '../../../../src/image/index.js';

export const FIXTURE_MODELS = fileURLToPath(new URL('../../../fixtures/models', import.meta.url));

export type FixtureName = 'tiny-mean' | 'tiny-mean-b1' | 'tiny-rgb' | 'tiny-noshape' | 'tiny-seg';

export type JsonObject = Record<string, unknown>;

/** A fresh copy of a fixture's manifest. */
export function fixtureManifest(name: FixtureName): JsonObject {
  return JSON.parse(readFileSync(path.join(FIXTURE_MODELS, name, 'manifest.json'), 'utf8')) as JsonObject;
}

/** Marks a field for removal in {@link edit}. */
export const REMOVE = Symbol('remove');

/**
 * A deep copy of `value` with the field at a dotted path (`output.labels.1.threshold`) set,
 * or removed when `to` is {@link REMOVE}.
 */
export function edit(value: JsonObject, dotted: string, to: unknown): JsonObject {
  const copy = structuredClone(value);
  const keys = dotted.split('.');
  const last = keys.pop() ?? '';
  let node = copy as Record<string, unknown>;
  for (const key of keys) node = node[key] as Record<string, unknown>;
  if (to === REMOVE) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else Reflect.deleteProperty(node, last);
  } else node[last] = to;
  return copy;
}

export interface Golden {
  readonly cases: readonly { readonly shape: number[]; readonly input: number[]; readonly logits: number[] }[];
}

/** Inputs and the logits torch computed for them. */
export function fixtureGolden(name: FixtureName): Golden {
  return JSON.parse(readFileSync(path.join(FIXTURE_MODELS, name, 'golden.json'), 'utf8')) as Golden;
}

export interface ModelFolderSpec {
  /** Fixture whose model.onnx (and, unless `manifest` is given, manifest) is copied. */
  readonly from: FixtureName;
  /** Replaces the manifest: an object (id set to the folder) or raw text. */
  readonly manifest?: JsonObject | string;
  /** `missing`: no model.onnx; `corrupt`: random bytes instead of the model. */
  readonly onnx?: 'copy' | 'missing' | 'corrupt';
}

/** A temporary models directory; remove it with `cleanup()`. */
export class ModelsDir {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'inference-models-'));

  add(folder: string, spec: ModelFolderSpec): this {
    const target = path.join(this.dir, folder);
    mkdirSync(target, { recursive: true });
    const manifest = spec.manifest ?? fixtureManifest(spec.from);
    const text = typeof manifest === 'string' ? manifest : JSON.stringify({ ...manifest, id: folder }, null, 2);
    writeFileSync(path.join(target, 'manifest.json'), text);
    const onnx = spec.onnx ?? 'copy';
    if (onnx === 'copy') copyFileSync(path.join(FIXTURE_MODELS, spec.from, 'model.onnx'), path.join(target, 'model.onnx'));
    if (onnx === 'corrupt') writeFileSync(path.join(target, 'model.onnx'), randomBytes(512));
    return this;
  }

  /** A folder with arbitrary content (no manifest unless written). */
  folder(name: string, files: Record<string, string> = {}): this {
    const target = path.join(this.dir, name);
    mkdirSync(target, { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(path.join(target, file), text);
    return this;
  }

  file(name: string, text: string): this {
    writeFileSync(path.join(this.dir, name), text);
    return this;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface LogEntry {
  readonly level: string;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>> | undefined;
}

/** A log callback that keeps what it is given. */
export function recordingLog(): { log: InferenceLog; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return { log: (level, msg, fields) => entries.push({ level, msg, fields }), entries };
}

/** An image whose pixel (x, y, channel c) is `f(x, y, c)`. */
export function makeImage(width: number, height: number, channels: 1 | 3, f: (x: number, y: number, c: number) => number): Image {
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
  return { width, height, channels, data };
}

/** A deterministic pseudo-random image (LCG), values in [0, 1). */
export function noiseImage(width: number, height: number, channels: 1 | 3, seed: number): Image {
  let s = seed >>> 0;
  return makeImage(width, height, channels, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
}

/** The value, or a failed test when it is missing (instead of a non-null assertion). */
export function must<T>(value: T | undefined, what = 'value'): T {
  if (value === undefined) throw new Error(`expected a ${what}`);
  return value;
}

/** The logistic function, in float64. */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Narrows a parsed manifest to a classifier's, failing the test when it is not one. */
export function classifier(m: ModelManifest): ClassificationManifest {
  if (m.task !== 'classification') throw new Error(`${m.id} is a ${m.task} manifest`);
  return m;
}
