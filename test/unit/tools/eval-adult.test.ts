/**
 * The adult (NIH sample) evaluation: Unicode arrays in the npz reader, the calibration and
 * bootstrap numbers, the label definitions and subgroups; and, when the data is there, the
 * reader on the real sample (skipped with one line naming the missing path otherwise).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADULT_AGE, LABEL_DEFINITIONS, adultNumbers } from '../../../tools/eval/adult.js';
import type { ImageResult } from '../../../tools/eval/adult.js';
import { quantileSorted, reliability, shareWithInterval, summariseBinary } from '../../../tools/eval/calibration-metrics.js';
import { mulberry32 } from '../../../tools/prng.js';
import { resolveDataDir } from '../../../tools/eval/data-dir.js';
import { nihPath, readNih } from '../../../tools/eval/nih.js';
import type { NihCase, NihLabel } from '../../../tools/eval/nih.js';
import { parseNpy } from '../../../tools/eval/npz.js';

/** A .npy 1.0 file of little-endian fixed-width Unicode strings. */
function npyUnicode(width: number, values: string[]): Buffer {
  let header = `{'descr': '<U${width}', 'fortran_order': False, 'shape': (${values.length},), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(head);
  head.writeUInt8(1, 6);
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(values.length * width * 4);
  values.forEach((v, i) => {
    let k = 0;
    for (const ch of v) body.writeUInt32LE(ch.codePointAt(0) ?? 0, (i * width + k++) * 4);
  });
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

describe('npz reader: Unicode strings', () => {
  it('reads <U arrays as strings, NUL padding removed', () => {
    const a = parseNpy(npyUnicode(5, ['PA', 'AP', '', 'Lung😀']));
    expect(a.dtype).toBe('U5');
    expect(a.shape).toEqual([4]);
    expect(a.data).toEqual(['PA', 'AP', '', 'Lung😀']);
  });
});

describe('calibration metrics', () => {
  it('bins probabilities into 10 equal-width bins (1 in the last) and weighs |mean p − rate| by count', () => {
    const { ece, table } = reliability([1, 0, 1, 1], [0.05, 0.05, 0.95, 1]);
    expect(table).toHaveLength(10);
    expect(table[0]).toEqual({ bin: [0, 0.1], count: 2, meanPredicted: 0.05, observedRate: 0.5 });
    expect(table[9]?.count).toBe(2);
    expect(table[9]?.meanPredicted).toBeCloseTo(0.975, 12);
    expect(table[5]).toEqual({ bin: [0.5, 0.6], count: 0, meanPredicted: null, observedRate: null });
    expect(ece).toBeCloseTo(0.5 * 0.45 + 0.5 * 0.025, 12);
  });

  it('takes quantiles as NumPy does (linear)', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
  });

  it('gives the same intervals for the same seed, and null where a class is absent', () => {
    const next = mulberry32(7);
    const y = Array.from({ length: 80 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const p = y.map((v) => Math.min(1, Math.max(0, 0.3 * v + next() * 0.7)));
    const a = summariseBinary(y, p, 0.5, { resamples: 300, seed: 1 });
    expect(summariseBinary(y, p, 0.5, { resamples: 300, seed: 1 })).toEqual(a);
    expect(a.n).toBe(80);
    expect(a.positives).toBe(27);
    const [lo, hi] = a.auc95 ?? [Number.NaN, Number.NaN];
    expect(lo).toBeLessThanOrEqual(a.auc ?? Number.NaN);
    expect(hi).toBeGreaterThanOrEqual(a.auc ?? Number.NaN);
    const negativesOnly = summariseBinary([0, 0, 0], [0.1, 0.9, 0.2], 0.5, { resamples: 50 });
    expect([negativesOnly.auc, negativesOnly.auc95, negativesOnly.sensitivity, negativesOnly.specificity]).toEqual([null, null, null, 2 / 3]);
    expect(shareWithInterval([true, false, false, false], { resamples: 100 }).share).toBe(0.25);
  });
});

function nihCase(over: Partial<NihCase> & { labels?: NihLabel[] } = {}): NihCase {
  const findings = new Set<NihLabel>(over.labels ?? []);
  return { imageIndex: 'x', patientId: 1, age: 50, sex: 'M', view: 'PA', findings, noFinding: findings.size === 0, rsnaClass: '', ...over };
}

describe('adult evaluation numbers', () => {
  it('labels pneumonia-like findings against No Finding and RSNA opacity against RSNA Normal, leaving the rest out', () => {
    const [nih, rsna] = LABEL_DEFINITIONS;
    expect(nih?.label(nihCase({ labels: ['Infiltration', 'Effusion'] }))).toBe(1);
    expect(nih?.label(nihCase({ labels: ['Effusion'] }))).toBeUndefined();
    expect(nih?.label(nihCase())).toBe(0);
    expect(rsna?.label(nihCase({ rsnaClass: 'Lung Opacity' }))).toBe(1);
    expect(rsna?.label(nihCase({ rsnaClass: 'No Lung Opacity / Not Normal' }))).toBeUndefined();
    expect(rsna?.label(nihCase({ rsnaClass: 'Normal', labels: ['Nodule'] }))).toBe(0);
  });

  it('counts subgroups by view and age band and normal adults flagged by the card', () => {
    const cases = [
      nihCase({ age: 10, labels: ['Pneumonia'] }),
      nihCase({ age: 30, view: 'AP', labels: ['Consolidation'] }),
      nihCase({ age: 30 }),
      nihCase({ age: 70, rsnaClass: 'Normal' }),
      nihCase({ age: 45, labels: ['Mass'] }),
    ];
    const r = (probability: number, low = 0.4, high = 0.8, threshold = 0.6): ImageResult => ({ probability, positive: probability >= threshold, needsReview: probability >= low && probability <= high });
    const results = [r(0.9), r(0.7), r(0.95), r(0.1), r(0.5)];
    const out = adultNumbers(cases, results, 0.6, { resamples: 20 });
    const main = out.definitions[0];
    expect(main?.allAges.n).toBe(4);
    expect(main?.adults.n).toBe(3);
    expect(main?.byView.AP.n).toBe(1);
    expect(main?.byAge['<18']?.n).toBe(1);
    expect(main?.byAge['>=60']?.n).toBe(1);
    const nihNormal = out.normalAdults[0];
    expect(nihNormal?.atOrAboveThreshold.n).toBe(2);
    expect(nihNormal?.atOrAboveThreshold.count).toBe(1);
    expect(nihNormal?.cardSuspected.count).toBe(1);
    expect(out.adultImagesFlagged.cardIndeterminate.count).toBe(2);
    expect(cases.filter((c) => c.age >= ADULT_AGE)).toHaveLength(4);
  });
});

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const nihFile = nihPath(resolveDataDir(root));
const haveNih = existsSync(nihFile);
if (!haveNih) process.stdout.write(`skipped: NIH sample reader needs ${nihFile} (not found)\n`);
(haveNih ? describe : describe.skip)('NIH sample on disk', () => {
  it('reads 621 images with the documented counts', async () => {
    const { images, cases } = await readNih(resolveDataDir(root));
    expect(images).toHaveLength(621);
    expect([images[0]?.width, images[0]?.height, images[0]?.channels]).toEqual([256, 256, 1]);
    expect(cases.filter((c) => c.view === 'PA')).toHaveLength(518);
    expect(cases.filter((c) => c.noFinding)).toHaveLength(100);
    expect(cases.filter((c) => c.age < 18)).toHaveLength(19);
    expect(cases.filter((c) => c.findings.has('Pneumonia'))).toHaveLength(32);
    expect(cases.filter((c) => c.rsnaClass === 'Lung Opacity')).toHaveLength(29);
    expect(cases.filter((c) => c.rsnaClass === 'Normal')).toHaveLength(102);
  });
});
