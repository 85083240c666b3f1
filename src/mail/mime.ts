/**
 * Just enough MIME (RFC 2045-2047, 5322) to build invitation messages fast: a multipart/
 * alternative message whose static parts are quoted-printable encoded once, at compile
 * time, and whose per-recipient values are encoded on their own and spliced in.
 *
 * Splicing works because a QP soft line break (`=` CRLF) may stand anywhere outside an
 * `=XX` triplet: every encoded piece starts at column 0 and ends with a soft (or hard)
 * line break, so pieces concatenate into a valid body that decodes to the concatenated
 * source, whatever each piece's length.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseEmailAddress } from '../domain/email-address.js';
import type { SegmentTemplate } from './segment-template.js';
import { MailSendError } from './mail-send-error.js';

export const CRLF = '\r\n';

// ---------------------------------------------------------------------------------------------
// quoted-printable

const HEX = '0123456789ABCDEF';
/** Encoded line length limit (RFC 2045: 76 characters, the soft-break "=" included). */
const QP_MAX_LINE = 76;

function hexByte(b: number): string {
  return '=' + HEX[b >> 4] + HEX[b & 15];
}

/** =XX triplets for the UTF-8 bytes of one code point (lone surrogates become U+FFFD). */
function encodeCodePoint(cp: number): string {
  if (cp < 0x80) return hexByte(cp);
  if (cp < 0x800) return hexByte(0xc0 | (cp >> 6)) + hexByte(0x80 | (cp & 63));
  if (cp < 0x10000) {
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    return hexByte(0xe0 | (cp >> 12)) + hexByte(0x80 | ((cp >> 6) & 63)) + hexByte(0x80 | (cp & 63));
  }
  return hexByte(0xf0 | (cp >> 18)) + hexByte(0x80 | ((cp >> 12) & 63)) + hexByte(0x80 | ((cp >> 6) & 63)) + hexByte(0x80 | (cp & 63));
}

/** A hard line ends: whitespace before the CRLF must be encoded (RFC 2045 rule 3). */
function endHardLine(line: string): string {
  const last = line.charCodeAt(line.length - 1);
  if (last !== 32 && last !== 9) return line + CRLF;
  const head = line.slice(0, -1);
  const enc = last === 32 ? '=20' : '=09';
  return head.length + enc.length > QP_MAX_LINE ? head + '=' + CRLF + enc + CRLF : head + enc + CRLF;
}

/**
 * Quoted-printable encode `input` (as UTF-8) as a self-contained piece: it starts at column 0
 * and ends at column 0 (with a soft line break when the last line is not empty). LF and CRLF
 * become CRLF hard line breaks. A "." or "From " at the start of a line is encoded too, so
 * that no SMTP or mbox layer touches the line.
 */
export function qpEncodePiece(input: string): string {
  let out = '';
  let line = '';
  const n = input.length;
  for (let i = 0; i < n; i++) {
    const c = input.charCodeAt(i);
    if (c === 10 || (c === 13 && input.charCodeAt(i + 1) === 10)) {
      if (c === 13) i++;
      out += endHardLine(line);
      line = '';
      continue;
    }
    let tok: string;
    if ((c >= 33 && c <= 126 && c !== 61) || c === 32 || c === 9) {
      tok = input[i]!;
    } else if (c < 128) {
      tok = hexByte(c);
    } else {
      let cp = c;
      if (c >= 0xd800 && c <= 0xdbff) {
        const d = input.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        }
      }
      tok = encodeCodePoint(cp);
    }
    if (line.length + tok.length > QP_MAX_LINE - 1) {
      out += line + '=' + CRLF;
      line = '';
    }
    if (line.length === 0) {
      if (c === 46) tok = '=2E';
      else if (c === 70 && input.startsWith('From ', i)) tok = '=46';
    }
    line += tok;
  }
  if (line.length > 0) out += line + '=' + CRLF;
  return out;
}

/** Whole-body quoted-printable encoding (same as one piece). */
export function encodeQuotedPrintable(input: string): string {
  return qpEncodePiece(input);
}

// ---------------------------------------------------------------------------------------------
// headers

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const HEADER_NAME = /^[!-9;-~]+$/; // RFC 5322 ftext

function hasLongWord(value: string, max: number): boolean {
  if (value.length <= max) return false;
  let run = 0;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) === 32) run = 0;
    else if (++run > max) return true;
  }
  return false;
}

function needsEncodedWords(value: string): boolean {
  return !PRINTABLE_ASCII.test(value) || value.includes('=?') || hasLongWord(value, 70);
}

/** RFC 2047 B-encoded words, ≤ 39 UTF-8 bytes each (≤ 64 characters), never splitting a character. */
export function encodeWords(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const words: string[] = [];
  let start = 0;
  do {
    let end = Math.min(start + 39, bytes.length);
    // back off to a character boundary: never end before a continuation byte (10xxxxxx)
    while (end < bytes.length && end > start && (bytes[end]! & 0xc0) === 0x80) end--;
    words.push('=?UTF-8?B?' + bytes.toString('base64', start, end) + '?=');
    start = end;
  } while (start < bytes.length);
  return words;
}

/**
 * One unstructured header field (e.g. Subject): line breaks and controls removed, folded at
 * spaces to ≤ 78 characters, RFC 2047 encoded when not plain printable ASCII.
 */
export function formatUnstructuredHeader(name: string, value: string): string {
  const v = value.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  if (needsEncodedWords(v)) return `${name}: ${encodeWords(v).join(CRLF + ' ')}`;
  return foldAscii(`${name}: ${v}`);
}

/** Fold a header line at spaces to ≤ 78 characters where it can (a line already folded is left alone). */
function foldAscii(line: string): string {
  if (line.length <= 78 || line.includes(CRLF)) return line;
  const words = line.split(' ');
  let out = '';
  let cur = words[0]!;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (cur.length + 1 + w.length > 78 && cur.trim() !== '') {
      out += cur + CRLF;
      cur = ' ' + w;
    } else {
      cur += ' ' + w;
    }
  }
  return out + cur;
}

export interface MailAddress {
  name?: string | null;
  address: string;
}

/**
 * An address usable in an SMTP envelope and a header, by the one rule the store's addresses
 * pass too (src/domain/email-address.ts): ASCII dot-atom local part, domain in punycode.
 * Anything else is refused with a permanent MailSendError — it can never be delivered, and
 * nothing of it may reach a header.
 */
export function normalizeAddress(address: string): string {
  const p = parseEmailAddress(address);
  if (!p.ok) throw new MailSendError('invalid_recipient', 'invalid e-mail address', { permanent: true });
  return p.address;
}

const ATOM_PHRASE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$/;

/** A display name as an RFC 5322 phrase: atoms, a quoted string, or encoded words. */
export function formatDisplayName(name: string): string {
  if (needsEncodedWords(name)) return encodeWords(name).join(CRLF + ' ');
  if (ATOM_PHRASE.test(name)) return name;
  return '"' + name.replace(/(["\\])/g, '\\$1') + '"';
}

/** `Name <local@domain>` (or the bare address); the address must already be normalized. */
export function formatMailbox(a: MailAddress): string {
  const name = (a.name ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  return name === '' ? a.address : `${formatDisplayName(name)} <${a.address}>`;
}

/** RFC 5322 date-time in UTC: "Wed, 26 Nov 2025 16:24:00 +0000". */
export function formatRfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

export function createMessageId(domain: string): string {
  return `<${randomUUID()}@${domain}>`;
}

/** `<id@domain>`, validated: no spaces, controls or angle brackets inside. */
export function normalizeMessageId(id: string): string {
  const bare = id.trim().replace(/^<|>$/g, '');
  if (!/^[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+$/.test(bare)) {
    throw new Error('invalid Message-ID (expected local@domain)');
  }
  return `<${bare}>`;
}

/** One extra header line; the name is checked, the value is treated as unstructured text. */
export function formatExtraHeader(name: string, value: string): string {
  if (!HEADER_NAME.test(name)) throw new Error(`invalid header name: ${JSON.stringify(name)}`);
  return formatUnstructuredHeader(name, value);
}

// ---------------------------------------------------------------------------------------------
// compiled multipart/alternative message

/** Per-part values, already escaped for the part (HTML-escaped for html, plain for text). */
export interface PartValues<K extends string> {
  text: Readonly<Record<K, string>>;
  html: Readonly<Record<K, string>>;
}

export interface MessageHeaders {
  from: string; // formatted From field value
  to: string; // formatted To field value
  subject: string;
  messageId: string; // <id@domain>
  date: Date;
  extra?: Readonly<Record<string, string>>;
}

export interface CompiledAlternativeMessage<K extends string> {
  readonly boundary: string;
  /** The full RFC 5322 message (CRLF line endings, 7-bit clean). */
  build(headers: MessageHeaders, values: PartValues<K>): string;
}

/** A flat (non-rope) copy of an ASCII string. */
function flatten(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

interface EncodedPart<K extends string> {
  head: string; // boundary line + part headers + blank line
  literals: string[]; // QP-encoded literals (each ends at column 0)
  keys: K[];
}

function encodePart<K extends string>(boundary: string, contentType: string, tpl: SegmentTemplate<K>): EncodedPart<K> {
  return {
    head: `--${boundary}${CRLF}Content-Type: ${contentType}; charset=utf-8${CRLF}Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}`,
    // flat copies: the encoder builds its output char by char, and a rope of thousands of
    // pieces would be re-walked for every message built from it
    literals: tpl.literals.map((l) => flatten(qpEncodePiece(l))),
    keys: [...tpl.keys],
  };
}

/** `encode(key, value)` gives the value's quoted-printable piece. */
function fillPart<K extends string>(part: EncodedPart<K>, values: Readonly<Record<K, string>>, encode: (key: K, value: string) => string): string {
  let out = part.head + part.literals[0];
  for (let i = 0; i < part.keys.length; i++) {
    const key = part.keys[i]!;
    out += encode(key, values[key]) + part.literals[i + 1];
  }
  return out;
}

/** Encodings remembered per compiled message, across messages; the cache starts over when full. */
const MAX_CACHED_ENCODINGS = 256;

export interface CompileAlternativeOptions<K extends string> {
  /**
   * Keys whose values are different for every message and must not outlive it (a link with
   * a token): encoded once per message, never kept. Other values (organization name, personal
   * message, expiry, greeting) repeat from one recipient to the next and are encoded once.
   */
  volatileKeys?: readonly K[];
}

/**
 * Compile a text + html multipart/alternative message once. The boundary contains "=_",
 * which quoted-printable output can never contain, so one boundary serves every message.
 */
export function compileAlternativeMessage<K extends string>(
  parts: {
    text: SegmentTemplate<K>;
    html: SegmentTemplate<K>;
  },
  opts: CompileAlternativeOptions<K> = {},
): CompiledAlternativeMessage<K> {
  const boundary = `=_hrsync_${randomBytes(12).toString('hex')}`;
  const text = encodePart(boundary, 'text/plain', parts.text);
  const html = encodePart(boundary, 'text/html', parts.html);
  const tail = `${CRLF}--${boundary}--${CRLF}`;
  const staticHeaders =
    `MIME-Version: 1.0${CRLF}Auto-Submitted: auto-generated${CRLF}` +
    `Content-Type: multipart/alternative;${CRLF} boundary="${boundary}"${CRLF}`;
  const volatile = new Set<string>(opts.volatileKeys ?? []);
  const cache = new Map<string, string>();
  const encodeCached = (v: string): string => {
    let enc = cache.get(v);
    if (enc === undefined) {
      enc = qpEncodePiece(v);
      if (cache.size >= MAX_CACHED_ENCODINGS) cache.clear();
      cache.set(v, enc);
    }
    return enc;
  };
  // the same subject and the same second come again and again in a rollout
  let lastSubject: string | undefined;
  let lastSubjectHeader = '';
  let lastSecond = NaN;
  let lastDateHeader = '';
  return {
    boundary,
    build(h, values) {
      const second = Math.floor(h.date.getTime() / 1000);
      if (second !== lastSecond) {
        lastDateHeader = `Date: ${formatRfc5322Date(h.date)}${CRLF}`;
        lastSecond = second;
      }
      if (h.subject !== lastSubject) {
        lastSubjectHeader = formatUnstructuredHeader('Subject', h.subject) + CRLF;
        lastSubject = h.subject;
      }
      let head =
        lastDateHeader +
        `From: ${h.from}${CRLF}` +
        foldAscii(`To: ${h.to}`) + CRLF +
        lastSubjectHeader +
        `Message-ID: ${h.messageId}${CRLF}` +
        staticHeaders;
      if (h.extra) {
        for (const [name, value] of Object.entries(h.extra)) head += formatExtraHeader(name, value) + CRLF;
      }
      // a volatile value (both parts carry it) is encoded once for this message and then dropped
      let volatileValue: string | undefined;
      let volatileEncoded = '';
      const encode = (key: K, v: string): string => {
        if (!volatile.has(key)) return encodeCached(v);
        if (v !== volatileValue) {
          volatileEncoded = qpEncodePiece(v);
          volatileValue = v;
        }
        return volatileEncoded;
      };
      // the part bodies end at column 0; the CRLF before each delimiter belongs to the delimiter
      return head + CRLF + fillPart(text, values.text, encode) + CRLF + fillPart(html, values.html, encode) + tail;
    },
  };
}
