/**
 * The shared secret a trigger presents (`Authorization: Bearer <secret>`), compared in constant
 * time over SHA-256 digests so that neither its content nor its length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * A check of the Authorization header against `secret`.
 *
 * @returns a function that throws AppError TRIGGER_REJECTED (401) unless the header carries the secret
 */
export function createSecretCheck(secret: string): (authorization: string | undefined) => void {
  const expected = digest(secret);
  return (authorization) => {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization ?? '');
    if (match?.[1] === undefined || !timingSafeEqual(digest(match[1]), expected)) {
      throw new AppError('TRIGGER_REJECTED', 'the trigger secret is missing or wrong');
    }
  };
}
