import { parseMultipart } from '../../../src/dicom/multipart.js';
import { createByteBudget, MultipartScanner, streamMultipart } from '../../../src/dicom/multipart-stream.js';
import { createOriginLimiter } from '../../../src/dicom/origin-limiter.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);
const CT = 'multipart/related; type="application/dicom"; boundary=bnd';

/** A body of `n` parts whose contents are easy to check, with a preamble and an epilogue. */
function body(n: number, size = 37): { bytes: Uint8Array; contents: string[] } {
  const contents = Array.from({ length: n }, (_, i) => `part ${i} `.padEnd(size, String.fromCharCode(97 + (i % 26))));
  const parts = contents.map((c) => `--bnd\r\nContent-Type: application/dicom\r\n\r\n${c}\r\n`).join('');
  return { bytes: text(`preamble\r\n${parts}--bnd--\r\nepilogue`), contents };
}

/** A stream serving `bytes` in the given chunk sizes (cycled), counting what was pulled. */
function chunked(bytes: Uint8Array, sizes: readonly number[]): { stream: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => boolean } {
  let offset = 0;
  let turn = 0;
  let wasCancelled = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (offset >= bytes.byteLength) {
          controller.close();
          return;
        }
        const size = sizes[turn++ % sizes.length] as number;
        controller.enqueue(bytes.slice(offset, offset + size));
        offset += size;
      },
      cancel() {
        wasCancelled = true;
      },
    },
    { highWaterMark: 0 }, // pull only when read: the count is what the parser asked for
  );
  return { stream, pulled: () => Math.min(offset, bytes.byteLength), cancelled: () => wasCancelled };
}

async function collect(stream: ReadableStream<Uint8Array>, maxBytes = 1 << 30): Promise<string[]> {
  const out: string[] = [];
  for await (const part of streamMultipart(stream, CT, { maxBytes })) out.push(str(part.body));
  return out;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('streamMultipart reads a multipart body incrementally', () => {
  it('yields all of 500 parts from a stream of irregular chunks, as parseMultipart would', async () => {
    const { bytes, contents } = body(500);
    expect(await collect(chunked(bytes, [1, 7, 64, 3, 1000, 2]).stream)).toEqual(contents);
    expect(parseMultipart(bytes, CT).map((p) => str(p.body))).toEqual(contents);
  });

  it('gives the same parts when the body is split in two at every byte position, delimiters included', async () => {
    const { bytes, contents } = body(3, 5);
    for (let cut = 1; cut < bytes.byteLength; cut++) {
      expect(await collect(chunked(bytes, [cut, bytes.byteLength]).stream)).toEqual(contents);
    }
  });

  it('gives the same parts fed one byte at a time, including empty bodies and parts without headers', async () => {
    const bytes = text('--bnd\r\n\r\n\r\n--bnd\r\nX-A: 1\r\n\r\nz\r\n--bnd  \r\n\r\nlast\r\n--bnd--');
    expect(await collect(chunked(bytes, [1]).stream)).toEqual(['', 'z', 'last']);
  });

  it('yields each part as soon as its delimiter has arrived, before the rest is read', async () => {
    const { bytes } = body(10, 1000);
    const source = chunked(bytes, [100]);
    const iterator = streamMultipart(source.stream, CT, { maxBytes: 1 << 20 });
    const first = await iterator.next();
    expect(str((first.value as { body: Uint8Array }).body)).toMatch(/^part 0 /);
    expect(source.pulled()).toBeLessThan(1200); // about one part, not the whole ten
    await iterator.return(undefined);
    expect(source.cancelled()).toBe(true);
  });

  it('refuses a stream truncated inside a part, inside a delimiter and inside headers', async () => {
    const { bytes } = body(2);
    const full = str(bytes);
    for (const [cut, message] of [
      [full.indexOf('part 1') + 3, 'the multipart body ends before its close delimiter'],
      [full.lastIndexOf('--bnd--') + 3, 'the multipart body ends before its close delimiter'],
      [full.indexOf('Content-Type') + 4, 'the multipart body ends inside part headers'],
    ] as const) {
      const err = await rejection(collect(chunked(bytes.slice(0, cut), [9]).stream));
      expect(err).toMatchObject({ code: 'UPSTREAM_FAILED', message: `The PACS sent a malformed multipart response: ${message}.` });
    }
  });

  it('stops pulling and cancels the stream as soon as the byte limit is crossed', async () => {
    const { bytes } = body(1000, 1000); // about 1 MB
    const source = chunked(bytes, [4096]);
    const err = await rejection(collect(source.stream, 64 * 1024));
    expect(err).toMatchObject({ code: 'DICOM_TOO_LARGE', message: 'The PACS response exceeds the limit of 65536 bytes.' });
    expect(source.pulled()).toBeLessThanOrEqual(64 * 1024 + 4096);
    expect(source.cancelled()).toBe(true);
  });

  it('charges a shared budget across responses and stops the one that crosses it', async () => {
    const budget = createByteBudget(3000, 'The study retrieval');
    const first = body(1, 1000).bytes;
    for await (const part of streamMultipart(chunked(first, [256]).stream, CT, { maxBytes: 1 << 20, budget })) expect(part.body.byteLength).toBe(1000);
    const second = chunked(body(5, 1000).bytes, [256]);
    const err = await rejection(collect2(second.stream, budget));
    expect(err).toMatchObject({ code: 'DICOM_TOO_LARGE', message: 'The study retrieval exceeds the limit of 3000 bytes.' });
    expect(budget.used).toBeLessThanOrEqual(3000 + 256);
    expect(second.cancelled()).toBe(true);
  });

  it('never lets its buffer grow beyond the limit, only to the part in progress', () => {
    const { bytes } = body(50, 2000);
    const scanner = new MultipartScanner(CT, 8192);
    let maxBuffer = 0;
    for (let i = 0; i < bytes.byteLength; i += 500) {
      scanner.push(bytes.subarray(i, i + 500));
      maxBuffer = Math.max(maxBuffer, (scanner as unknown as { buf: Buffer }).buf.byteLength);
    }
    scanner.finish();
    expect(maxBuffer).toBeLessThanOrEqual(8192);
  });
});

async function collect2(stream: ReadableStream<Uint8Array>, budget: ReturnType<typeof createByteBudget>): Promise<number> {
  let n = 0;
  for await (const part of streamMultipart(stream, CT, { maxBytes: 1 << 20, budget })) n += part.body.byteLength;
  return n;
}

describe('the per-origin limiter', () => {
  it('runs at most the cap at once per origin, FIFO, and other origins independently', async () => {
    const limiter = createOriginLimiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (i: number) => async (): Promise<number> => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      order.push(i);
      return i;
    };
    const a = Array.from({ length: 8 }, (_, i) => limiter.run('http://a', task(i)));
    expect(limiter.active('http://a')).toBe(2);
    const b = limiter.run('http://b', () => Promise.resolve(limiter.active('http://b')));
    expect(await b).toBe(1);
    expect(await Promise.all(a)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(2);
    expect(order.slice(0, 2).sort()).toEqual([0, 1]);
    expect(limiter.active('http://a')).toBe(0);
  });

  it('frees the slot when a task fails', async () => {
    const limiter = createOriginLimiter(1);
    await expect(limiter.run('o', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run('o', () => Promise.resolve('next'))).toBe('next');
  });

  it('refuses a cap below 1', () => {
    expect(() => createOriginLimiter(0)).toThrow('maxConcurrentPerOrigin must be an integer ≥ 1, not 0.');
  });
});
