/**
 * Ready answers at the speed of the web server: the result hook's final answer to a request is
 * kept as the exact bytes sent (already validated), and the same request in the same trust
 * domain is answered with them, without parsing, reading, rendering or validating again.
 *
 * The same request means: the same service, hook, context, prefetch and fhirServer, from the
 * same trust domain, with the same models loaded. hookInstance and fhirAuthorization are not part
 * of it: an answer is only stored when every piece of data it was made from came in the
 * request's prefetch (no FHIR read with the client's token), so the token played no part in it.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** Where final answers are kept: this process (embedded), or Redis shared by every front. */
export interface AnswerStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, body: string): Promise<void>;
  /** What the answers depend on besides the request: the loaded models' id@version. */
  fingerprint(): string;
}

/**
 * The key of a request's answer, or undefined when the request cannot have a stored answer (no
 * prefetch: the answer would depend on what the FHIR server says now).
 *
 * @param domain - the caller's trust domain
 * @param serviceId - the CDS service called
 * @param body - the request body as parsed JSON (not yet validated: a key only ever finds an
 *   answer stored for a request that was validated and answered)
 * @param fingerprint - the loaded models
 */
export function answerKey(domain: string, serviceId: string, body: unknown, fingerprint: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { hook, context, prefetch, fhirServer } = body as Record<string, unknown>;
  if (typeof prefetch !== 'object' || prefetch === null || Object.keys(prefetch).length === 0) return undefined;
  let text: string;
  try {
    text = JSON.stringify([domain, serviceId, hook, context, prefetch, fhirServer ?? null, fingerprint]);
  } catch {
    // Nested too deep to serialise (a hostile body): no stored answer; validation refuses it.
    return undefined;
  }
  return `answer-${createHash('sha256').update(text).digest('hex')}`;
}

/**
 * An in-memory answer store (the embedded default).
 *
 * @param capacity - most answers kept (least recently used dropped first)
 * @param fingerprint - the loaded models, as one string
 */
export function createMemoryAnswerStore(capacity: number, fingerprint: () => string): AnswerStore {
  const answers = new LRUCache<string, string>({ max: capacity });
  return {
    get: (key) => Promise.resolve(answers.get(key)),
    set(key, body) {
      answers.set(key, body);
      return Promise.resolve();
    },
    fingerprint,
  };
}
