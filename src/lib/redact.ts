/** Anything that looks like an e-mail address (also inside <…>, quotes or parentheses). */
const ADDRESS_LIKE = /[^\s<>()[\]"',;:]+@[^\s<>()[\]"',;:]+/g;

/**
 * Text from outside (an SMTP reply, a vendor's error message) with anything that looks like
 * an e-mail address replaced: safe to store in an error and to log.
 */
export function redactAddresses(text: string): string {
  return text.replace(ADDRESS_LIKE, '[address]');
}
