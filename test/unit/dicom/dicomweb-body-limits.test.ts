import { readTextLimited } from '../../../src/dicom/outbound.js';

/** A stream of the given chunks; `pulled` counts the bytes handed out. */
function counted(chunks: readonly Uint8Array[]): { stream: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => boolean } {
  let i = 0;
  let pulled = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[i++];
        if (chunk === undefined) {
          controller.close();
          return;
        }
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled, cancelled: () => cancelled };
}

describe('readTextLimited (DICOM JSON bodies)', () => {
  it('decodes UTF-8 characters split across chunks', async () => {
    const bytes = new TextEncoder().encode('["Müller^Zoë","日本"]');
    const oneByteChunks = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(await readTextLimited(new Response(counted(oneByteChunks).stream), 1000)).toBe('["Müller^Zoë","日本"]');
  });

  it('stops an endless body once past the limit: bytes read < limit + one chunk, and the stream is cancelled', async () => {
    const chunk = new Uint8Array(1000).fill(0x20);
    const source = counted(Array.from({ length: 100_000 }, () => chunk));
    await expect(readTextLimited(new Response(source.stream), 2500)).rejects.toMatchObject({
      name: 'AppError',
      code: 'DICOM_TOO_LARGE',
      message: 'The PACS response exceeds the limit of 2500 bytes.',
    });
    expect(source.pulled()).toBeLessThan(2500 + chunk.byteLength + 1);
    expect(source.cancelled()).toBe(true);
  });

  it('refuses a declared Content-Length above the limit before reading', async () => {
    const source = counted([new Uint8Array(10)]);
    await expect(readTextLimited(new Response(source.stream, { headers: { 'content-length': '5000' } }), 100)).rejects.toMatchObject({ code: 'DICOM_TOO_LARGE' });
    expect(source.pulled()).toBe(0);
  });

  it('reads an empty body as an empty string', async () => {
    expect(await readTextLimited(new Response(null), 100)).toBe('');
  });
});
