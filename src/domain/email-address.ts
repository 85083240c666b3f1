import { domainToASCII } from 'node:url';

/**
 * The one e-mail address validator: import (sync records), the API and the mailer all use it,
 * so what the store holds can always be handed to an SMTP server.
 *
 * Accepted: `local@domain` where
 * - the local part is an RFC 5322 dot-atom in ASCII: atext characters in dot-separated atoms,
 *   no leading, trailing or double dot; at most 64 octets (RFC 5321 §4.5.3.1.1). Quoted local
 *   parts ("john doe"@…) and non-ASCII local parts (SMTPUTF8) are refused: legal, but many
 *   servers and clients do not take them, and no HR system issues them for work mail;
 * - the domain has at least two labels (`localhost` is not a mail domain), each 1–63
 *   letters, digits or hyphens, not starting or ending with a hyphen, the top label not all
 *   digits; internationalized domains are converted to punycode (`domainToASCII`) and kept
 *   that way; at most 253 octets. Address literals (`[192.0.2.1]`) are refused;
 * - the whole address at most 254 octets (RFC 5321 path limit less the brackets).
 * Pure: no I/O.
 */

export type EmailProblem = 'empty' | 'too_long' | 'no_at' | 'local_part' | 'domain';

export type ParsedEmail = { ok: true; address: string; local: string; domain: string } | { ok: false; problem: EmailProblem };

const ATEXT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f]/;

export const EMAIL_MAX_LENGTH = 254;

/** Checks an address and returns it normalized (an internationalized domain in punycode), or the problem. */
export function parseEmailAddress(input: string): ParsedEmail {
  const s = typeof input === 'string' ? input.trim() : '';
  if (s === '') return { ok: false, problem: 'empty' };
  if (CONTROL_OR_SPACE.test(s)) return { ok: false, problem: s.includes('@') ? 'local_part' : 'no_at' };
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) return { ok: false, problem: 'no_at' };
  const local = s.slice(0, at);
  const rawDomain = s.slice(at + 1);
  if (local.length > 64 || !local.split('.').every((atom) => ATEXT_ATOM.test(atom))) return { ok: false, problem: 'local_part' };
  if (rawDomain.startsWith('[') || rawDomain.endsWith('.')) return { ok: false, problem: 'domain' };
  // An ASCII domain is kept as written (case included: what HR sends is what the store keeps);
  // an internationalized one becomes punycode.
  // eslint-disable-next-line no-control-regex
  const domain = /^[\x00-\x7f]*$/.test(rawDomain) ? rawDomain : domainToASCII(rawDomain);
  if (domain === '' || domain.length > 253) return { ok: false, problem: 'domain' };
  const labels = domain.toLowerCase().split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1]!)) return { ok: false, problem: 'domain' };
  const address = `${local}@${domain}`;
  if (address.length > EMAIL_MAX_LENGTH) return { ok: false, problem: 'too_long' };
  return { ok: true, address, local, domain };
}

export function isValidEmail(s: string): boolean {
  return parseEmailAddress(s).ok;
}

/** The address as the store keeps it (domain in punycode), or null when it is not valid. */
export function normalizeEmail(s: string): string | null {
  const p = parseEmailAddress(s);
  return p.ok ? p.address : null;
}
