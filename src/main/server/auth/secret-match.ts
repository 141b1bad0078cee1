// Comparing secrets (the password, the ingress token) without leaking them through timing.
import { createHash, timingSafeEqual } from 'node:crypto'

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

/**
 * A checker for one secret. Both sides are hashed first, so timingSafeEqual always compares 32 bytes
 * and neither the secret's length nor a common prefix shows in the time taken.
 */
export function createSecretMatcher(secret: string): (candidate: string) => boolean {
  const expected = sha256(secret)
  return (candidate) => timingSafeEqual(sha256(candidate), expected)
}
