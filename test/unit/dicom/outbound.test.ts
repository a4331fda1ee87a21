import { createOriginAllowList } from '../../../src/auth/outbound-allow-list.js';
import { createDicomWebClient } from '../../../src/dicom/dicomweb-client.js';
import { assertAllowed, authorizationHeader, checkedRoot, checkedUid, readBodyLimited } from '../../../src/dicom/outbound.js';
import { thrown } from './support/thrown.js';

describe('assertAllowed', () => {
  it('accepts an allow-list object that judges whole URLs (e.g. path prefixes)', () => {
    const list = { isAllowed: (url: string) => url.startsWith('https://pacs.example.org/dicom-web/') };
    expect(thrown(() => { assertAllowed('https://pacs.example.org/dicom-web/studies', list); })).toBeUndefined();
    expect(thrown(() => { assertAllowed('https://pacs.example.org/admin', list); })).toMatchObject({
      code: 'OUTBOUND_NOT_ALLOWED',
      message: 'The DICOMweb origin https://pacs.example.org is not on the allow-list.',
    });
  });
});

describe('checkedRoot', () => {
  it('drops trailing slashes', () => {
    expect(checkedRoot('http://127.0.0.1:8042/dicom-web/')).toBe('http://127.0.0.1:8042/dicom-web');
  });

  it.each([
    ['relative', '/dicom-web', 'The DICOMweb root is not an absolute http(s) URL.'],
    ['file URL', 'file:///etc/passwd', 'The DICOMweb root is not an absolute http(s) URL.'],
    ['credentials', 'https://user:secret@pacs.example.org/dicom-web', 'The DICOMweb root must not embed credentials; configure PACS auth instead.'],
    ['empty userinfo', 'https://@pacs.example.org/dicom-web', 'The DICOMweb root must not embed credentials; configure PACS auth instead.'],
    ['a query', 'https://pacs.example.org/dicom-web?x=1', 'The DICOMweb root must not carry a query or fragment.'],
  ])('refuses a %s root', (_name, root, message) => {
    expect(thrown(() => checkedRoot(root))).toMatchObject({ code: 'OUTBOUND_NOT_ALLOWED', message });
  });

  it('never echoes the embedded password', () => {
    const err = thrown(() => checkedRoot('https://user:hunter2@pacs.example.org/'));
    expect(err).toMatchObject({ code: 'OUTBOUND_NOT_ALLOWED' });
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain('hunter2');
  });
});

describe('checkedUid', () => {
  it.each(['1.2.840.10008.1.2', '0', '1.0.3', '2.25.329800735698586629295641978511506172918'])('accepts %s', (uid) => {
    expect(checkedUid(uid, 'Study Instance UID')).toBe(uid);
  });

  it.each(['', '1..2', '1.02', '../../admin', '1.2/3', '1.2.3 ', `1.${'2'.repeat(64)}`])('refuses %j without echoing it', (uid) => {
    expect(thrown(() => checkedUid(uid, 'Study Instance UID'))).toMatchObject({
      code: 'DICOM_INVALID',
      message: 'Study Instance UID is not a valid DICOM UID.',
    });
  });
});

describe('authorizationHeader', () => {
  it('builds Basic and Bearer values and nothing for none', () => {
    expect(authorizationHeader({ kind: 'basic', username: 'orthanc', password: 'pä:ss' })).toBe(`Basic ${Buffer.from('orthanc:pä:ss').toString('base64')}`);
    expect(authorizationHeader({ kind: 'bearer', token: 'abc.def' })).toBe('Bearer abc.def');
    expect(authorizationHeader({ kind: 'none' })).toBeUndefined();
  });
});

describe('readBodyLimited', () => {
  function streamOf(chunks: readonly number[], onPull?: () => void): ReadableStream<Uint8Array> {
    let i = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        onPull?.();
        const size = chunks[i++];
        if (size === undefined) controller.close();
        else controller.enqueue(new Uint8Array(size).fill(i));
      },
    });
  }

  it('concatenates chunks in order', async () => {
    const body = await readBodyLimited(new Response(streamOf([2, 3])), 10);
    expect(Array.from(body)).toEqual([1, 1, 2, 2, 2]);
  });

  it('stops reading as soon as the limit is passed, whatever Content-Length says', async () => {
    let pulls = 0;
    const endless = streamOf(Array.from({ length: 1000 }, () => 1000), () => pulls++);
    const response = new Response(endless, { headers: { 'content-length': '10' } });
    await expect(readBodyLimited(response, 2500)).rejects.toMatchObject({ code: 'DICOM_TOO_LARGE', message: 'The PACS response exceeds the limit of 2500 bytes.' });
    expect(pulls).toBeLessThan(6);
  });

  it('refuses a declared Content-Length above the limit before reading', async () => {
    let pulls = 0;
    const response = new Response(streamOf([1], () => pulls++), { headers: { 'content-length': '5000' } });
    await expect(readBodyLimited(response, 100)).rejects.toMatchObject({ code: 'DICOM_TOO_LARGE' });
    expect(pulls).toBeLessThanOrEqual(1); // the stream may prime one pull on construction
  });
});

describe('createDicomWebClient option checks', () => {
  it.each([
    ['a zero timeout', { timeoutMs: 0 }],
    ['a negative size limit', { maxResponseBytes: -1 }],
    ['a fractional retry count', { retries: 1.5 }],
    ['a negative backoff', { retryBaseDelayMs: -5 }],
  ])('refuses %s at construction', (_name, bad) => {
    expect(() => createDicomWebClient({ allowList: createOriginAllowList([]), auth: { kind: 'none' }, ...bad })).toThrow(RangeError);
  });
});
