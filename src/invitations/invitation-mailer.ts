import { createHash } from 'node:crypto';
import { isValidEmail } from '../domain/email-address.js';
import { buildAcceptUrl, type CompiledInvitationTemplates } from '../mail/invitation-template.js';
import { MailSendError } from '../mail/mail-send-error.js';
import type { MailTransport } from '../mail/types.js';
import type { InvitationMessage, MailPort } from './rollout-types.js';

/**
 * Fills the compiled invitation template for one recipient and hands it to the transport.
 * Every copy of one invitation has the same Message-ID (`<invitation id>@<sender's domain>`),
 * so mail clients group a message sent again after a crash with the first one.
 */
export class InvitationMailer implements MailPort {
  constructor(
    private readonly templates: CompiledInvitationTemplates,
    private readonly transport: MailTransport,
    private readonly appUrl: string,
  ) {}

  async send(m: InvitationMessage): Promise<void> {
    // The store holds only addresses this validator accepts (import and the API use it too):
    // anything else is refused here, for that invitation alone, before any server sees it.
    if (!isValidEmail(m.to)) throw new MailSendError('invalid_recipient', 'the address is not one an SMTP server can take', { permanent: true });
    const mail = this.templates.build(
      {
        to: m.to,
        firstName: m.firstName,
        lastName: m.lastName,
        organizationName: m.organizationName,
        loginMethod: m.loginMethod,
        message: m.message,
        acceptUrl: buildAcceptUrl(this.appUrl, m.token),
        expiresAt: m.expiresAt,
        reminder: m.reminder !== undefined,
      },
      // A reminder is another message (its own Message-ID: clients would drop a second copy
      // of the same one as a duplicate) carrying the same link.
      m.reminder !== undefined
        ? { logId: m.invitationId, messageIdLocal: reminderMessageIdLocal(m.invitationId, m.reminder), headers: { 'X-Hrsync-Invitation-Id': m.invitationId, 'X-Hrsync-Reminder': String(m.reminder) } }
        : { logId: m.invitationId, messageIdLocal: m.invitationId, headers: { 'X-Hrsync-Invitation-Id': m.invitationId } },
    );
    await this.transport.send(mail);
  }
}

/** A UUID derived from (invitation, n): the n-th reminder's Message-ID is the same on every retry, and another than the invitation's. */
function reminderMessageIdLocal(invitationId: string, n: number): string {
  const h = createHash('sha1').update(`${invitationId}/reminder/${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}
