/**
 * Cleaning of the per-recipient values that go into an invitation. Every value passes
 * through escapeHtml (src/lib/html-escape.ts, the same as the dashboard's), which is safe
 * both in element text and in double-quoted attributes (the compiled MJML quotes every
 * attribute with ").
 */
export { escapeHtml } from '../lib/html-escape.js';

// C0 controls except TAB and LF, DEL, C1 controls, and the Unicode line / paragraph separators.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;
const CONTROL_TEST = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

/** Multi-line plain text: CRLF / CR become LF, other control characters are dropped. */
export function cleanMultiline(value: string): string {
  const normalized = value.includes('\r') ? value.replace(/\r\n?/g, '\n') : value;
  return CONTROL_TEST.test(normalized) ? normalized.replace(CONTROL, '') : normalized;
}

/** Single-line plain text (names, organization name): every line break or control becomes a space, runs collapse. */
export function cleanSingleLine(value: string): string {
  let v = value;
  if (/[\t\r\n]/.test(v)) v = v.replace(/[\t\r\n]+/g, ' ');
  if (CONTROL_TEST.test(v)) v = v.replace(CONTROL, '');
  if (v.includes('  ')) v = v.replace(/ {2,}/g, ' ');
  return v.trim();
}
