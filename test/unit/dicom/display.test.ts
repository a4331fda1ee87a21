import { applyVoi, toDisplayImage, voiLinear, voiLinearExact, voiSigmoid } from '../../../src/dicom/display.js';
import type { DicomImageInfo, ModalityFrame, VoiWindow } from '../../../src/dicom/types.js';

const INFO: DicomImageInfo = {
  studyInstanceUid: '1.2.3',
  seriesInstanceUid: '1.2.3.4',
  sopInstanceUid: '1.2.3.4.5',
  sopClassUid: undefined,
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  modality: 'CT',
  bodyPartExamined: undefined,
  viewPosition: undefined,
  imageType: [],
  rows: 1,
  columns: 4,
  numberOfFrames: 1,
  photometricInterpretation: 'MONOCHROME2',
  samplesPerPixel: 1,
  bitsAllocated: 16,
  bitsStored: 12,
  pixelRepresentation: 1,
};

function frame(values: readonly number[], options: { window?: VoiWindow; invert?: boolean; samplesPerPixel?: 1 | 3 } = {}): ModalityFrame {
  const samplesPerPixel = options.samplesPerPixel ?? 1;
  return {
    info: INFO,
    frameIndex: 0,
    rows: 1,
    columns: values.length / samplesPerPixel,
    samplesPerPixel,
    values: Float32Array.from(values),
    window: options.window,
    invert: options.invert ?? false,
  };
}

describe('VOI LUT functions follow PS3.3 C.11.2.1.2 exactly', () => {
  // c = 40, w = 400: LINEAR switches at c − 0.5 ∓ (w − 1)/2 = −160 and 239.
  it.each([
    [-1000, 0],
    [-160, 0],
    [-159.5, 0.5 / 399],
    [39.5, 0.5],
    [100, (100 - 39.5) / 399 + 0.5],
    [238.5, 1 - 0.5 / 399],
    [239, 1],
    [239.001, 1],
    [3000, 1],
  ])('LINEAR c=40 w=400 maps %d to %d', (x, y) => {
    expect(voiLinear(x, 40, 400)).toBeCloseTo(y, 12);
  });

  it('LINEAR with width 1 is a threshold at c − 0.5 and never divides by zero', () => {
    expect([voiLinear(9.5, 10, 1), voiLinear(9.5001, 10, 1), voiLinear(-1e9, 10, 1), voiLinear(1e9, 10, 1)]).toEqual([0, 1, 0, 1]);
  });

  it.each([
    [-5, 0],
    [-4.999, 0.0001],
    [0, 0.5],
    [2.5, 0.75],
    [5, 1],
    [5.001, 1],
  ])('LINEAR_EXACT c=0 w=10 maps %d to %d', (x, y) => {
    expect(voiLinearExact(x, 0, 10)).toBeCloseTo(y, 12);
  });

  it('SIGMOID is 0.5 at the centre and 1/(1+e^−2) half a width above it', () => {
    expect(voiSigmoid(40, 40, 400)).toBe(0.5);
    expect(voiSigmoid(240, 40, 400)).toBeCloseTo(1 / (1 + Math.exp(-2)), 12);
    expect(voiSigmoid(-160, 40, 400)).toBeCloseTo(1 / (1 + Math.exp(2)), 12);
  });

  it('applyVoi dispatches on the window’s function', () => {
    expect(applyVoi(2.5, { center: 0, width: 10, fn: 'LINEAR_EXACT' })).toBe(0.75);
    expect(applyVoi(39.5, { center: 40, width: 400, fn: 'LINEAR' })).toBe(0.5);
    expect(applyVoi(40, { center: 40, width: 400, fn: 'SIGMOID' })).toBe(0.5);
  });
});

describe('toDisplayImage', () => {
  const ctWindow: VoiWindow = { center: 40, width: 400, fn: 'LINEAR' };

  it('applies the file’s window for the dicom spec', () => {
    const img = toDisplayImage(frame([-1000, 39.5, 239, 1000], { window: ctWindow }), { kind: 'dicom' });
    expect(Array.from(img.data)).toEqual([0, 0.5, 1, 1]);
    expect(img).toMatchObject({ width: 4, height: 1, channels: 1 });
  });

  it('falls back to the frame’s min/max when the file has no window', () => {
    expect(Array.from(toDisplayImage(frame([-100, 0, 100, 300]), { kind: 'dicom' }).data)).toEqual([0, 0.25, 0.5, 1]);
  });

  it('uses a fixed window as LINEAR, overriding the file’s', () => {
    const img = toDisplayImage(frame([-1000, 39.5, 239, 1000], { window: { center: 0, width: 2, fn: 'SIGMOID' } }), { kind: 'fixed', center: 40, width: 400 });
    expect(Array.from(img.data)).toEqual([0, 0.5, 1, 1]);
  });

  it('refuses a fixed window narrower than 1', () => {
    expect(() => toDisplayImage(frame([0, 1, 2, 3]), { kind: 'fixed', center: 0, width: 0.5 })).toThrow(
      new RangeError('A fixed LINEAR window needs width ≥ 1, not 0.5.'),
    );
  });

  it('ignores the file’s window for the minmax spec', () => {
    expect(Array.from(toDisplayImage(frame([0, 50, 100, 200], { window: ctWindow }), { kind: 'minmax' }).data)).toEqual([0, 0.25, 0.5, 1]);
  });

  it('gives zeros, not NaN, for a constant frame', () => {
    expect(Array.from(toDisplayImage(frame([7, 7, 7, 7]), { kind: 'minmax' }).data)).toEqual([0, 0, 0, 0]);
  });

  it('inverts MONOCHROME1 after windowing, so high values display dark', () => {
    const img = toDisplayImage(frame([-1000, 39.5, 239, 1000], { window: ctWindow, invert: true }), { kind: 'dicom' });
    expect(Array.from(img.data)).toEqual([1, 0.5, 0, 0]);
    const stretched = toDisplayImage(frame([0, 100, 200, 400], { invert: true }), { kind: 'minmax' });
    expect(Array.from(stretched.data)).toEqual([1, 0.75, 0.5, 0]);
  });

  it('scales colour by the stored range for the dicom spec and keeps channels interleaved', () => {
    const rgbInfo = { ...INFO, bitsStored: 8, samplesPerPixel: 3, photometricInterpretation: 'RGB' };
    const rgb = { ...frame([0, 51, 255, 255, 0, 102], { samplesPerPixel: 3 }), info: rgbInfo };
    const img = toDisplayImage(rgb, { kind: 'dicom' });
    expect(img).toMatchObject({ width: 2, height: 1, channels: 3 });
    expect(Array.from(img.data)).toEqual([0, 0.2, 1, 1, 0, 0.4].map((v) => Math.fround(v)));
  });

  it('keeps every output inside [0, 1] for every function', () => {
    const values = [-1e6, -1024, -1, 0, 1, 3071, 1e6];
    for (const fn of ['LINEAR', 'LINEAR_EXACT', 'SIGMOID'] as const) {
      const data = toDisplayImage(frame(values, { window: { center: 0, width: 100, fn } }), { kind: 'dicom' }).data;
      expect(data.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
  });
});

describe('the VOI LUT Sequence in display', () => {
  // 12-bit table from −2: inputs −5, −2, 0, 100 → indices 0 (clamped), 0, 2, 3 (clamped to the last).
  const voiLut = { firstMapped: -2, bits: 12, data: Uint16Array.of(0, 1365, 2730, 4095) };
  const withLut = (window?: VoiWindow): ModalityFrame => ({ ...frame([-5, -2, 0, 100], window === undefined ? {} : { window }), voiLut });

  it('maps through the table and scales by 2^bits − 1 when the file has no window', () => {
    expect(Array.from(toDisplayImage(withLut(), { kind: 'dicom' }).data)).toEqual(Array.from(Float32Array.of(0, 0, 2730 / 4095, 1)));
  });

  it('prefers the file window over the table, and ignores both for fixed and minmax windowing', () => {
    const window: VoiWindow = { center: 0.5, width: 1, fn: 'LINEAR' };
    expect(Array.from(toDisplayImage(withLut(window), { kind: 'dicom' }).data)).toEqual([0, 0, 0, 1]); // threshold at c − 0.5 = 0
    expect(Array.from(toDisplayImage(withLut(), { kind: 'minmax' }).data)).toEqual(Array.from(Float32Array.of(0, 3 / 105, 5 / 105, 1)));
  });

  it('inverts a MONOCHROME1 frame after the table', () => {
    expect(Array.from(toDisplayImage({ ...withLut(), invert: true }, { kind: 'dicom' }).data)).toEqual(Array.from(Float32Array.of(1, 1, 1 - Math.fround(2730 / 4095), 0)));
  });
});
