export * from './types.js';
export * from './mail-send-error.js';
export * from './invitation-template.js';
export { METHOD_COPY, COMMON_COPY } from './invitation-copy.js';
export { escapeHtml } from './escape.js';
export {
  encodeQuotedPrintable,
  formatMailbox,
  formatRfc5322Date,
  normalizeAddress,
  type MailAddress,
} from './mime.js';
export { SmtpMailTransport, SMTP_DEFAULTS, describeSmtpUrl, type SmtpTransportOptions } from './smtp-transport.js';
export { FileMailTransport, outboxFileName, type FileTransportOptions } from './file-transport.js';
export * from './create-mail-transport.js';
