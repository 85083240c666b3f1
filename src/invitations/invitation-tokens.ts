import { createHash, randomBytes } from 'node:crypto';

/**
 * Invitation tokens. A token is made once, when its invitation is first claimed for sending,
 * and kept in the clear (column `token`) only while the invitation is pending or sending: a
 * message sent again after a crash or a transient failure carries the same link, so every copy
 * anyone received works. Once the invitation is sent (or fails, is cancelled, accepted) only
 * the SHA-256 hash remains. An explicit resend makes a new invitation, with a new token, and
 * revokes the old one.
 *
 * (An HMAC of a server secret and the invitation id would need no column, but a secret to
 * manage and rotate, and a leaked secret would open every link ever sent; a stored random
 * token exposes at most the invitations being sent at that moment.)
 */

/** 256 random bits, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

