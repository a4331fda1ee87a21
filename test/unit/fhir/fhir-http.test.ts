import { AppError } from '../../../src/errors.js';
import { fhirTooLarge, parseJsonBody, readBodyCapped } from '../../../src/fhir/fhir-http.js';

/** A stream of `chunks` byte counts; `pulled` counts the bytes handed out. */
function counted(chunks: readonly number[]): { stream: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => boolean } {
  let i = 0;
  let pulled = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const size = chunks[i++];
        if (size === undefined) {
          controller.close();
          return;
        }
        pulled += size;
        controller.enqueue(new Uint8Array(size).fill(0x20));
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled, cancelled: () => cancelled };
}

const tooLarge = (): AppError => fhirTooLarge('read Patient', 2500);

describe('readBodyCapped', () => {
  it('returns the whole body when it fits', async () => {
    const { stream } = counted([1000, 1000, 500]);
    expect((await readBodyCapped(new Response(stream), 2500, tooLarge)).byteLength).toBe(2500);
  });

  it('stops an endless body once past the cap: bytes read < cap + one chunk, and the stream is cancelled', async () => {
    const chunk = 1000;
    const source = counted(Array.from({ length: 1_000_000 }, () => chunk));
    await expect(readBodyCapped(new Response(source.stream), 2500, tooLarge)).rejects.toMatchObject({
      name: 'AppError',
      code: 'UPSTREAM_FAILED',
      message: "The FHIR server's answer to read Patient exceeds the limit of 2500 bytes",
    });
    expect(source.pulled()).toBeLessThan(2500 + chunk + 1);
    expect(source.cancelled()).toBe(true);
  });

  it('refuses a declared Content-Length above the cap before reading anything', async () => {
    const source = counted([10]);
    await expect(readBodyCapped(new Response(source.stream, { headers: { 'content-length': '5000' } }), 2500, tooLarge)).rejects.toBeInstanceOf(AppError);
    expect(source.pulled()).toBe(0);
  });

  it('does not trust a small Content-Length', async () => {
    const source = counted([2000, 2000]);
    await expect(readBodyCapped(new Response(source.stream, { headers: { 'content-length': '10' } }), 2500, tooLarge)).rejects.toMatchObject({ code: 'UPSTREAM_FAILED' });
  });
});

describe('parseJsonBody', () => {
  it('parses JSON, reads an empty body as undefined, and refuses anything else', () => {
    expect(parseJsonBody(new TextEncoder().encode('{"resourceType":"Patient"}'), 'read Patient')).toEqual({ resourceType: 'Patient' });
    expect(parseJsonBody(new Uint8Array(0), 'read Patient')).toBeUndefined();
    let thrown: unknown;
    try {
      parseJsonBody(new TextEncoder().encode('<html>'), 'read Patient');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ name: 'AppError', code: 'UPSTREAM_FAILED', message: 'The FHIR server answered read Patient with a body that is not JSON' });
  });
});
