/**
 * Escaping for values that go into the compiled invitation HTML. Every per-recipient value
 * passes through escapeHtml, which is safe both in element text and in double-quoted
 * attributes (the compiled MJML quotes every attribute with ").
 */
const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const HTML_SPECIAL = /[&<>"']/g;
const HTML_SPECIAL_TEST = /[&<>"']/;

export function escapeHtml(value: string): string {
  return HTML_SPECIAL_TEST.test(value) ? value.replace(HTML_SPECIAL, (c) => HTML_ESCAPES[c]!) : value;
}

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
