import { buildAcceptUrl, type CompiledInvitationTemplates } from '../mail/invitation-template.js';
import type { MailTransport } from '../mail/types.js';
import type { InvitationMessage, MailPort } from './rollout-service.js';

/** Fills the compiled invitation template for one recipient and hands it to the transport. */
export class InvitationMailer implements MailPort {
  constructor(
    private readonly templates: CompiledInvitationTemplates,
    private readonly transport: MailTransport,
    private readonly appUrl: string,
  ) {}

  async send(m: InvitationMessage): Promise<void> {
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
      },
      { logId: m.invitationId, headers: { 'X-Hrsync-Invitation-Id': m.invitationId } },
    );
    await this.transport.send(mail);
  }
}
