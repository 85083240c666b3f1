import type { Logger } from '../lib/logger.js';
import { FileMailTransport } from './file-transport.js';
import { SmtpMailTransport, type SmtpTransportOptions } from './smtp-transport.js';
import type { MailTransport } from './types.js';

export const DEFAULT_OUTBOX_DIR = './outbox';

export interface MailTransportConfig {
  /** Set → SMTP; unset or empty → the file outbox. */
  smtpUrl?: string | null;
  /** Outbox directory; default ./outbox. */
  outboxDir?: string | null;
  /** Pool and timeout settings for SMTP. */
  smtp?: Omit<SmtpTransportOptions, 'url' | 'logger'>;
  logger?: Logger;
}

/** SMTP when an SMTP URL is configured, else the file outbox. */
export function createMailTransport(config: MailTransportConfig = {}): MailTransport {
  const smtpUrl = config.smtpUrl?.trim();
  if (smtpUrl) return new SmtpMailTransport({ ...config.smtp, url: smtpUrl, logger: config.logger });
  return new FileMailTransport({ dir: config.outboxDir?.trim() || DEFAULT_OUTBOX_DIR, logger: config.logger });
}

/** The same choice made from the environment: SMTP_URL, else OUTBOX_DIR (default ./outbox). */
export function createMailTransportFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  extra: Omit<MailTransportConfig, 'smtpUrl' | 'outboxDir'> = {},
): MailTransport {
  return createMailTransport({ ...extra, smtpUrl: env.SMTP_URL, outboxDir: env.OUTBOX_DIR });
}
