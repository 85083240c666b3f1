// Generated from invitation.mjml by test/mail/invitation-template.test.ts: do not edit by hand.
// After editing invitation.mjml run: npx vitest run test/mail/invitation-template.test.ts -u
// (embedded because tsc does not copy .mjml files into dist/)
export const INVITATION_MJML = `<!--
  Invitation e-mail. Compiled by src/mail/invitation-template.ts, once per login method and
  with / without a personal message, never per recipient.

  Two kinds of slot:
    [[name]]   compile-time copy (per login method, HTML-escaped), see invitation-copy.ts
    {{name}}   per-recipient value, HTML-escaped when the compiled HTML is filled
  A block between the comments "#if message" and "#endif message" is kept only in the
  variant with a personal message; one between "#if reminder" and "#endif reminder" only in
  the reminder of an invitation not yet accepted (the same link).
  Preview by hand: npx mjml src/mail/templates/invitation.mjml -s
-->
<mjml lang="en">
  <mj-head>
    <mj-title>[[subject]]</mj-title>
    <mj-preview>[[preheader]]</mj-preview>
    <mj-attributes>
      <mj-all font-family="-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif" />
      <mj-text font-size="16px" line-height="24px" color="#1f2933" padding="0 0 16px 0" />
      <mj-section padding="0" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f4f5f7" width="600px">
    <mj-section padding="32px 0 16px 0">
      <mj-column>
        <mj-text font-size="14px" font-weight="600" color="#52606d" align="center" padding="0">[[appName]]</mj-text>
      </mj-column>
    </mj-section>
    <mj-wrapper background-color="#ffffff" border-radius="8px" padding="32px 32px 16px 32px">
      <mj-section>
        <mj-column>
          <mj-text font-size="22px" line-height="30px" font-weight="700">[[heading]]</mj-text>
          <mj-text>{{greeting}}</mj-text>
          <!-- #if reminder -->
          <mj-text font-weight="600">[[reminderNote]]</mj-text>
          <!-- #endif reminder -->
          <mj-text>[[intro]]</mj-text>
        </mj-column>
      </mj-section>
      <!-- #if message -->
      <mj-section padding="0 0 16px 0">
        <mj-column border-left="4px solid #3e63dd" background-color="#f5f7ff" padding="12px 16px">
          <mj-text font-size="13px" color="#52606d" padding="0 0 4px 0">[[messageLabel]]</mj-text>
          <mj-text font-style="italic" padding="0">{{message}}</mj-text>
        </mj-column>
      </mj-section>
      <!-- #endif message -->
      <mj-section>
        <mj-column>
          <mj-button href="{{acceptUrl}}" background-color="#3e63dd" color="#ffffff" font-size="16px" font-weight="600" border-radius="6px" inner-padding="12px 24px" padding="8px 0 24px 0" align="left">[[buttonLabel]]</mj-button>
          <mj-text>[[methodNote]]</mj-text>
          <mj-text font-size="14px" line-height="20px" color="#52606d">[[expiryLabel]] {{expiresAt}}.</mj-text>
          <mj-divider border-width="1px" border-color="#e4e7eb" padding="8px 0 16px 0" />
          <mj-text font-size="13px" line-height="20px" color="#7b8794">[[linkLabel]]<br /><a href="{{acceptUrl}}" style="color:#3e63dd;word-break:break-all;">{{acceptUrl}}</a></mj-text>
        </mj-column>
      </mj-section>
    </mj-wrapper>
    <mj-section padding="16px 24px 32px 24px">
      <mj-column>
        <mj-text font-size="12px" line-height="18px" color="#7b8794" align="center" padding="0">[[footer]]</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
`;
