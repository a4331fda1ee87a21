import { jsonNumber, jsonString } from '../../../src/dicom/index.js';

describe('reading DICOM JSON values (QIDO-RS, WADO-RS metadata)', () => {
  const ds = {
    '00080018': { vr: 'UI', Value: ['1.2.3'] },
    '00200013': { vr: 'IS', Value: [7] },
    '00280008': { vr: 'IS', Value: ['96'] },
    '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] },
    '0020000E': { vr: 'UI' },
  };

  it('reads strings, numbers given as numbers or strings, and the Alphabetic form of a name', () => {
    expect(jsonString(ds, '00080018')).toBe('1.2.3');
    expect(jsonNumber(ds, '00200013')).toBe(7);
    expect(jsonNumber(ds, '00280008')).toBe(96);
    expect(jsonString(ds, '00100010')).toBe('Doe^Jane');
    expect(jsonString(ds, '00080018'.toLowerCase())).toBe('1.2.3');
  });

  it('reads an attribute without a value, a missing one, or a malformed one as absent, never throwing', () => {
    expect(jsonString(ds, '0020000E')).toBeUndefined();
    expect(jsonString(ds, '00080060')).toBeUndefined();
    expect(jsonString({ '00080018': { vr: 'UI', Value: 'not-an-array' } } as never, '00080018')).toBeUndefined();
    expect(jsonNumber({ '00200013': { vr: 'IS', Value: ['x'] } }, '00200013')).toBeUndefined();
  });
});
