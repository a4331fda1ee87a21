/**
 * One request case: a valid request of some route, zero to three mutations (JSON tree,
 * prefetch shape, JSON text, body size, path, method, content type, content encoding,
 * framing, headers, client JWT), framed as raw HTTP/1.1.
 */
import { hostileAuthorization, validToken, HOSTILE_KINDS, type Issuer } from './jwt.js';
import { randomFor, STREAM, type Random } from './random.js';
import type { RawRequest } from './raw-http.js';
import { mutatePrefetch, mutateText, mutateTree, serialise } from './request-json.js';
import { pickTemplate, type Draft, type TemplateData } from './request-templates.js';
import { mutateContentType, mutateEncoding, mutateFraming, mutateHeaders, mutateMethod, mutatePath, type Wire } from './request-wire.js';

export type Mode = 'auth' | 'noauth';

/** What a case needs to know about the service it is sent to. */
export interface Target {
  readonly mode: Mode;
  readonly port: number;
  readonly data: TemplateData;
  /** The service's PUBLIC_BASE_URL: a valid token's `aud` starts with it. */
  readonly publicBaseUrl: string;
  /** Set in authenticated mode. */
  readonly issuer: Issuer | undefined;
}

export interface RequestCase {
  readonly index: number;
  readonly mode: Mode;
  readonly route: string;
  readonly req: RawRequest;
  readonly notes: readonly string[];
  /** The server may close without an answer (incomplete request or broken framing). */
  readonly mayClose: boolean;
  /** Send the same bytes once before the counted try (a replayed token). */
  readonly sendTwice: boolean;
}

type Kind = 'json-tree' | 'prefetch' | 'json-text' | 'body-size' | 'path' | 'method' | 'content-type' | 'encoding' | 'framing' | 'headers' | 'auth';
const KINDS: readonly (readonly [Kind, number])[] = [
  ['json-tree', 3], ['prefetch', 1.5], ['json-text', 2], ['body-size', 0.4], ['path', 1.5], ['method', 0.8],
  ['content-type', 1], ['encoding', 1], ['framing', 1], ['headers', 1], ['auth', 1.5],
];

function pickKind(r: Random): Kind {
  const total = KINDS.reduce((s, [, w]) => s + w, 0);
  let x = r.next() * total;
  for (const [k, w] of KINDS) {
    x -= w;
    if (x < 0) return k;
  }
  return 'json-tree';
}

/** A body of about `size` bytes: the request's JSON with a long string added. */
function padded(json: unknown, size: number): Uint8Array {
  const base = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : { hook: 'x' };
  const text = serialise({ ...base, pad: '' });
  return Buffer.from(text.replace('"pad":""', `"pad":"${'x'.repeat(Math.max(0, size - text.length))}"`));
}

const LIMIT = 1024 * 1024;

function applyDraftKinds(kinds: readonly Kind[], d: Draft, t: Target, r: Random, notes: string[]): void {
  for (const k of kinds) {
    if (k === 'json-tree') notes.push(`json-tree: ${mutateTree(d, t.data, r)}`);
    if (k === 'prefetch') notes.push(`prefetch: ${mutatePrefetch(d, t.data, r)}`);
  }
  const text = d.json === undefined ? undefined : serialise(d.json);
  if (kinds.includes('json-text') && text !== undefined) {
    const m = mutateText(text, r);
    d.body = m.body;
    notes.push(`json-text: ${m.note}`);
  } else if (kinds.includes('body-size')) {
    const size = r.pick([LIMIT - 300, LIMIT + 1, 5 * LIMIT]);
    d.body = padded(d.json, size);
    notes.push(`body-size: ${d.body.byteLength} bytes`);
  } else if (text !== undefined) {
    d.body = Buffer.from(text);
  }
}

function audienceOf(t: Target, target: string): string {
  const pathOnly = target.replace(/[?#].*$/, '').replace(/\/+$/, '');
  return `${t.publicBaseUrl}${pathOnly.startsWith('/') ? pathOnly : `/${pathOnly}`}`;
}

/** The Authorization header of the case, and whether it is a replay. */
function authorization(t: Target, kinds: readonly Kind[], target: string, r: Random, notes: string[]): { value: string | undefined; replay: boolean } {
  const aud = audienceOf(t, target);
  if (t.issuer === undefined) {
    if (!kinds.includes('auth') && !r.chance(0.05)) return { value: undefined, replay: false };
    const value = r.pick(['Bearer garbage', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer a.b.c', `Bearer ${'x'.repeat(9000)}`]);
    notes.push(`auth: ${JSON.stringify(value.slice(0, 30))} sent to the unauthenticated service`);
    return { value, replay: false };
  }
  if (!kinds.includes('auth') && !r.chance(0.1)) return { value: `Bearer ${validToken(t.issuer, aud, r)}`, replay: false };
  if (r.chance(0.08)) {
    notes.push('auth: valid token sent twice (jti replay)');
    return { value: `Bearer ${validToken(t.issuer, aud, r)}`, replay: true };
  }
  const kind = r.pick(HOSTILE_KINDS);
  notes.push(`auth: ${kind}`);
  return { value: hostileAuthorization(t.issuer, kind, aud, r), replay: false };
}

function applyWireKinds(kinds: readonly Kind[], w: Wire, r: Random, notes: string[]): void {
  const steps: Partial<Record<Kind, (w: Wire, r: Random) => string>> = {
    method: mutateMethod,
    'content-type': mutateContentType,
    encoding: mutateEncoding,
    headers: mutateHeaders,
  };
  for (const k of kinds) {
    const step = steps[k];
    if (step !== undefined) notes.push(`${k}: ${step(w, r)}`);
  }
  // Framing last: it frames the body the other steps produced.
  if (kinds.includes('framing')) notes.push(`framing: ${mutateFraming(w, r)}`);
}

function finalHeaders(w: Wire, t: Target, index: number, auth: string | undefined): [string, string][] {
  const headers: [string, string][] = [['Host', `127.0.0.1:${t.port}`], ...w.headers];
  if (auth !== undefined) headers.push(['Authorization', auth]);
  if (w.contentLength !== null) {
    const length = w.contentLength ?? (w.body !== undefined ? String(w.body.byteLength) : w.method === 'POST' ? '0' : undefined);
    if (length !== undefined) headers.push(['Content-Length', length]);
  }
  headers.push(['Connection', 'close'], ['X-Request-Id', `fz-${t.mode}-${index}`]);
  return headers;
}

/** Builds request case `index` for the run seed; the same seed gives the same case. */
export function buildRequestCase(runSeed: number, index: number, targets: Readonly<Record<Mode, Target>>): RequestCase {
  const r = randomFor(runSeed, STREAM.request, index);
  const t = targets[r.chance(0.55) ? 'auth' : 'noauth'];
  const d = pickTemplate(t.data, r);
  const count = r.chance(0.08) ? 0 : r.chance(0.65) ? 1 : r.chance(0.7) ? 2 : 3;
  const kinds = Array.from({ length: count }, () => pickKind(r));
  const notes: string[] = [];
  applyDraftKinds(kinds, d, t, r, notes);
  const w: Wire = { method: d.method, target: d.target, headers: d.headers, body: d.body, contentLength: undefined, sendOnly: undefined, raw: undefined, mayClose: false, closeAfterSend: false };
  if (kinds.includes('path')) notes.push(`path: ${mutatePath(w, r)}`);
  const auth = authorization(t, kinds, w.target, r, notes);
  applyWireKinds(kinds, w, r, notes);
  if ((w.body?.byteLength ?? 0) > 256 * 1024) w.mayClose = true;
  const req: RawRequest = { method: w.method, target: w.target, headers: finalHeaders(w, t, index, auth.value), body: w.body, ...(w.sendOnly === undefined ? {} : { sendOnly: w.sendOnly }), ...(w.raw === undefined ? {} : { raw: w.raw }), closeAfterSend: w.closeAfterSend };
  return { index, mode: t.mode, route: d.route, req, notes: notes.length === 0 ? ['none (valid request)'] : notes, mayClose: w.mayClose, sendTwice: auth.replay };
}
