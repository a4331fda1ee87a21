/**
 * Deterministic ids. The same (study, model, version, label) always yields the same resource
 * ids and identifiers, so a result rendered twice (retry, cache miss, second hook) is the same
 * result, and write-back can be idempotent.
 */
import { createHash } from 'node:crypto';

/** Namespace for our UUIDv5s (a random v4, fixed forever). */
const NAMESPACE = Buffer.from('6f1c7a52f0b44f4e9f4a1f3f0f5b8c21', 'hex');

/**
 * RFC 9562 UUID version 5 (SHA-1, name-based) of `name` in the project's namespace.
 *
 * @param name - any stable string
 */
export function uuidV5(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  const b = Buffer.from(hash.subarray(0, 16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x50;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
