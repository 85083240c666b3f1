/**
 * The one HTML escaping of hrsync (dashboard pages and invitation e-mails). Safe in element
 * text and in quoted attribute values (single or double quotes); the backtick too, for old
 * browsers that took it as an attribute quote. Values without a special character, most of
 * them, are returned as they are, without a copy.
 */
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };
const SPECIAL = /[&<>"'`]/g;
const SPECIAL_TEST = /[&<>"'`]/;

export function escapeHtml(value: string): string {
  return SPECIAL_TEST.test(value) ? value.replace(SPECIAL, (c) => ESCAPES[c]!) : value;
}
