/**
 * The words of the invitation e-mail, per login method. `[[appName]]` is filled at compile
 * time, `{{…}}` per recipient (see invitation-template.ts for the keys). Keep subjects in
 * plain ASCII where possible: they then go out unencoded.
 */
export type LoginMethod = 'password' | 'sso' | 'magic_link';
export const LOGIN_METHODS: readonly LoginMethod[] = Object.freeze(['password', 'sso', 'magic_link']);

export interface MethodCopy {
  subject: string;
  preheader: string;
  heading: string;
  intro: string;
  buttonLabel: string;
  methodNote: string;
}

export const METHOD_COPY: Readonly<Record<LoginMethod, Readonly<MethodCopy>>> = Object.freeze({
  password: {
    subject: '{{organizationName}} invited you to [[appName]] - set your password',
    preheader: 'Set your password to get started.',
    heading: 'Join {{organizationName}} on [[appName]]',
    intro: '{{organizationName}} has invited you to [[appName]]. To get started, set your password.',
    buttonLabel: 'Set your password',
    methodNote: 'From then on, you sign in with your e-mail address and this password.',
  },
  sso: {
    subject: '{{organizationName}} invited you to [[appName]] - sign in with your company account',
    preheader: 'Sign in with your company account: no new password needed.',
    heading: 'Join {{organizationName}} on [[appName]]',
    intro:
      '{{organizationName}} has invited you to [[appName]]. You sign in with your company account, so there is no new password to remember.',
    buttonLabel: 'Sign in with your company account',
    methodNote: 'Use the same account as for your other work tools (single sign-on).',
  },
  magic_link: {
    subject: '{{organizationName}} invited you to [[appName]] - no password needed',
    preheader: 'No password needed: we will e-mail you a sign-in link.',
    heading: 'Join {{organizationName}} on [[appName]]',
    intro:
      '{{organizationName}} has invited you to [[appName]]. There is no password: whenever you want to sign in, we will e-mail you a sign-in link.',
    buttonLabel: 'Accept the invitation',
    methodNote: 'Each sign-in link works only once and only for a short time.',
  },
});

export const COMMON_COPY = Object.freeze({
  greetingNamed: (firstName: string) => `Hi ${firstName},`,
  greetingAnonymous: 'Hello,',
  messageLabel: 'A message from your administrator:',
  expiryLabel: 'This invitation expires on',
  linkLabel: 'If the button does not work, copy this link into your browser:',
  reminderSubjectPrefix: 'Reminder: ',
  reminderNote: 'A reminder: your invitation is still waiting for you. The link below is the same as in the first e-mail, and it works until it expires.',
  footer:
    'You received this e-mail because an administrator of {{organizationName}} invited you to [[appName]]. ' +
    'If you were not expecting it, you can ignore it: nothing happens until you accept.',
});

/** The plain-text part. Same slots and blocks as the MJML template. */
export const INVITATION_TEXT_TEMPLATE = `{{greeting}}
<!-- #if reminder -->
[[reminderNote]]
<!-- #endif reminder -->
[[intro]]
<!-- #if message -->
[[messageLabel]]

{{message}}
<!-- #endif message -->
[[buttonLabel]]:
{{acceptUrl}}

[[methodNote]]

[[expiryLabel]] {{expiresAt}}.

-- 
[[footer]]
`;
