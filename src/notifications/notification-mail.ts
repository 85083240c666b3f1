import { CRLF, encodeQuotedPrintable, formatRfc5322Date, formatUnstructuredHeader, normalizeAddress } from '../mail/mime.js';
import type { MailTransport, OutgoingMail } from '../mail/types.js';
import { describeEvent, type NotificationEvent } from './events.js';

/**
 * The administrators' e-mail for an event: plain text, ids and counts, a link to the dashboard.
 * The Message-ID is derived from the event id, so a retried send is recognisably the same message.
 */
export function notificationMail(event: NotificationEvent, to: readonly string[], opts: { from: string; appUrl: string }): OutgoingMail {
  const { subject, text } = describeEvent(event, opts.appUrl);
  const fromAddress = /<([^>]+)>/.exec(opts.from)?.[1] ?? opts.from;
  const domain = fromAddress.split('@')[1] ?? 'hrsync.local';
  const messageId = `<${event.id}@${domain}>`;
  const recipients = to.map((a) => normalizeAddress(a));
  const headers = [
    `From: ${opts.from}`,
    `To: ${recipients.join(', ')}`,
    formatUnstructuredHeader('Subject', subject),
    `Date: ${formatRfc5322Date(new Date(event.occurredAt))}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    'Auto-Submitted: auto-generated',
  ];
  const raw = `${headers.join(CRLF)}${CRLF}${CRLF}${encodeQuotedPrintable(text.replace(/\n/g, CRLF))}${CRLF}`;
  return { messageId, envelope: { from: normalizeAddress(fromAddress), to: recipients }, raw, logId: `notification:${event.id}` };
}

export async function sendNotificationMail(transport: MailTransport, event: NotificationEvent, to: readonly string[], opts: { from: string; appUrl: string }): Promise<void> {
  await transport.send(notificationMail(event, to, opts));
}
