/**
 * The invitation e-mail: one MJML template (templates/invitation.mjml), compiled once at
 * start for each login method with and without a personal message (6 MJML renders), then
 * filled per recipient by string concatenation with every value HTML-escaped. A per-recipient
 * MJML render (~3 ms) never happens.
 */
import mjml2html from 'mjml';
import { AppError } from '../lib/errors.js';
import { cleanMultiline, cleanSingleLine, escapeHtml } from './escape.js';
import { COMMON_COPY, INVITATION_TEXT_TEMPLATE, LOGIN_METHODS, METHOD_COPY, type LoginMethod } from './invitation-copy.js';
import {
  compileAlternativeMessage,
  createMessageId,
  formatMailbox,
  normalizeAddress,
  normalizeMessageId,
  type CompiledAlternativeMessage,
  type MailAddress,
  type PartValues,
} from './mime.js';
import {
  applyConditionalBlocks,
  fillCompileTimeSlots,
  fillSegmentTemplate,
  parseSegmentTemplate,
  type SegmentTemplate,
} from './segment-template.js';
import { INVITATION_MJML } from './templates/invitation-mjml.js';
import type { OutgoingMail } from './types.js';

export { LOGIN_METHODS, type LoginMethod } from './invitation-copy.js';

export const MAX_INVITATION_MESSAGE_LENGTH = 500;
export const DEFAULT_APP_NAME = 'hrsync';
export const DEFAULT_MAIL_FROM = 'hrsync <no-reply@hrsync.localhost>';
export const DEFAULT_APP_URL = 'http://localhost:3000';

export interface InvitationMailData {
  to: string;
  firstName: string | null;
  lastName: string | null;
  organizationName: string;
  loginMethod: LoginMethod;
  /** The administrator's personal message: plain text, ≤ 500 characters, newlines kept. */
  message: string | null;
  /** `${appUrl}/invite/accept?token=…` (see buildAcceptUrl); contains the token: never log it. */
  acceptUrl: string;
  expiresAt: Date;
  /** A reminder of an invitation not yet accepted: the same link, the reminder wording. */
  reminder?: boolean;
}

export interface RenderedInvitation {
  subject: string;
  html: string;
  text: string;
}

export interface BuildInvitationOptions {
  /** Message-ID to use (e.g. derived from the invitation id, so a retry sends the same id). */
  messageId?: string;
  /** The local part of the Message-ID, its domain the sender's: the same value gives the same Message-ID. */
  messageIdLocal?: string;
  date?: Date;
  /** Extra header fields, e.g. { 'X-Hrsync-Invitation-Id': id }. Values must not be secrets. */
  headers?: Readonly<Record<string, string>>;
  /** Id for logs, carried on the OutgoingMail (e.g. the invitation id). */
  logId?: string;
}

/** The MJML compiler, injectable so tests can count calls. */
export type MjmlCompiler = (mjml: string, options: { validationLevel: 'strict'; keepComments: boolean }) => Promise<{ html: string }>;

export interface CompileInvitationOptions {
  appName?: string;
  /** From field: "Name <address>" or an address; default DEFAULT_MAIL_FROM. */
  from?: string | MailAddress;
  /** Envelope sender (bounce address); default the From address. */
  envelopeFrom?: string;
  /** Time zone for the expiry date; default UTC. */
  timeZone?: string;
  /** MJML source; default templates/invitation.mjml (embedded). */
  mjmlSource?: string;
  compileMjml?: MjmlCompiler;
}

export interface CompiledInvitationTemplates {
  readonly appName: string;
  /** Formatted From header value. */
  readonly from: string;
  readonly envelopeFrom: string;
  /** Subject, HTML and plain text for one recipient. Throws AppError('validation_failed') on bad data. */
  render(data: InvitationMailData): RenderedInvitation;
  /**
   * The complete MIME message for one recipient, built from pre-encoded parts. Throws
   * AppError('validation_failed') on bad data, MailSendError (permanent) on an unusable address.
   */
  build(data: InvitationMailData, opts?: BuildInvitationOptions): OutgoingMail;
}

/** Per-recipient placeholders of the HTML and text templates. */
export const INVITATION_KEYS = ['greeting', 'organizationName', 'acceptUrl', 'expiresAt', 'message'] as const;
type Key = (typeof INVITATION_KEYS)[number];

interface Variant {
  subject: SegmentTemplate<'organizationName'>;
  html: SegmentTemplate<Key>;
  text: SegmentTemplate<Key>;
  mime: CompiledAlternativeMessage<Key>;
}

/** `${appUrl}/invite/accept?token=…` */
export function buildAcceptUrl(appUrl: string, token: string): string {
  return `${appUrl.replace(/\/+$/, '')}/invite/accept?token=${encodeURIComponent(token)}`;
}

/**
 * The MJML source. Embedded as a TS module generated from templates/invitation.mjml (tsc does
 * not copy .mjml files, and the runtime image ships dist/ only); a test keeps the two equal.
 */
export function loadInvitationMjml(): string {
  return INVITATION_MJML;
}

const NO_MESSAGE = Object.freeze({ length: 0, html: '', text: '' });

/** `fn` (pure) with its last argument and result remembered: the same argument again costs a comparison. */
function lastValueMemo<R>(fn: (arg: string) => R): (arg: string) => R {
  let lastArg: string | undefined;
  let lastResult!: R;
  return (arg) => {
    if (arg !== lastArg) {
      lastResult = fn(arg);
      lastArg = arg;
    }
    return lastResult;
  };
}

function invalid(message: string): AppError {
  return new AppError('validation_failed', message);
}

function parseFrom(from: string | MailAddress): MailAddress {
  if (typeof from !== 'string') return { name: from.name ?? null, address: normalizeAddress(from.address) };
  const m = /^\s*(.*?)\s*<([^<>]+)>\s*$/.exec(from);
  const name = m ? m[1]!.replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1') : null;
  try {
    return { name: name || null, address: normalizeAddress(m ? m[2]! : from) };
  } catch {
    throw new AppError('config_invalid', 'MAIL_FROM is not a valid address ("Name <address>" or "address")');
  }
}

async function defaultCompiler(mjml: string, options: { validationLevel: 'strict'; keepComments: boolean }) {
  return mjml2html(mjml, options);
}

export async function compileInvitationTemplates(opts: CompileInvitationOptions = {}): Promise<CompiledInvitationTemplates> {
  const appName = cleanSingleLine(opts.appName ?? DEFAULT_APP_NAME) || DEFAULT_APP_NAME;
  if (/\{\{|\[\[/.test(appName)) throw new AppError('config_invalid', 'app name must not contain "{{" or "[["');
  const fromAddress = parseFrom(opts.from ?? DEFAULT_MAIL_FROM);
  const from = formatMailbox(fromAddress);
  let envelopeFrom: string;
  try {
    envelopeFrom = opts.envelopeFrom ? normalizeAddress(opts.envelopeFrom) : fromAddress.address;
  } catch {
    throw new AppError('config_invalid', 'envelope sender is not a valid address');
  }
  const messageIdDomain = fromAddress.address.slice(fromAddress.address.lastIndexOf('@') + 1);
  const compileMjml = opts.compileMjml ?? defaultCompiler;
  const mjmlSource = opts.mjmlSource ?? loadInvitationMjml();
  const timeZone = opts.timeZone ?? 'UTC';
  let dateFormat: Intl.DateTimeFormat;
  try {
    dateFormat = new Intl.DateTimeFormat('en-GB', {
      day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false, timeZone, timeZoneName: 'short',
    });
  } catch {
    throw new AppError('config_invalid', `unknown time zone: ${timeZone}`);
  }

  // the text shows minutes, and a batch's expiries mostly fall in the same minute:
  // remember the last minute formatted (Intl formatting is the costliest step of a fill)
  let lastExpiry = NaN;
  let lastExpiryText = '';
  let lastExpiryHtml = '';
  const formatExpiry = (d: Date): string => {
    const t = Math.floor(d.getTime() / 60_000);
    if (t !== lastExpiry) {
      lastExpiryText = dateFormat.format(d);
      lastExpiryHtml = escapeHtml(lastExpiryText);
      lastExpiry = t;
    }
    return lastExpiryText;
  };
  // A rollout fills the same organization name and personal message into every message: what
  // is derived from them (cleaned, escaped, quoted) is remembered for the last value of each.
  const organizationValues = lastValueMemo((raw: string) => {
    const clean = cleanSingleLine(raw);
    return { text: clean, html: escapeHtml(clean) };
  });
  const messageValues = lastValueMemo((raw: string) => {
    const message = cleanMultiline(raw).trim();
    return {
      length: message.length,
      html: message ? escapeHtml(message).replaceAll('\n', '<br>') : '',
      text: message ? message.split('\n').map((l) => (l ? '> ' + l : '>')).join('\n') : '',
    };
  });

  // per login method: [plain, with message, reminder, reminder with message]
  const variants = {} as Record<LoginMethod, Variant[]>;
  const jobs: Promise<void>[] = [];
  for (const method of LOGIN_METHODS) {
    const copy = METHOD_COPY[method];
    const slots: Record<string, string> = {
      ...copy,
      messageLabel: COMMON_COPY.messageLabel,
      expiryLabel: COMMON_COPY.expiryLabel,
      linkLabel: COMMON_COPY.linkLabel,
      footer: COMMON_COPY.footer,
      reminderNote: COMMON_COPY.reminderNote,
    };
    const fill = (s: string, escape: boolean) => {
      // slots may themselves hold [[appName]] and per-recipient {{placeholders}}
      const withApp = (v: string) => v.replaceAll('[[appName]]', escape ? escapeHtml(appName) : appName);
      const values: Record<string, string> = { appName: escape ? escapeHtml(appName) : appName };
      for (const [k, v] of Object.entries(slots)) values[k] = withApp(escape ? escapeHtml(v) : v);
      return fillCompileTimeSlots(s, values);
    };
    const pair: Variant[] = [];
    variants[method] = pair;
    for (const [withMessage, reminder] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const index = (reminder ? 2 : 0) + (withMessage ? 1 : 0);
      const subject = parseSegmentTemplate(fill(reminder ? COMMON_COPY.reminderSubjectPrefix + copy.subject : copy.subject, false), ['organizationName'] as const);
      const flags = { message: withMessage, reminder };
      const text = parseSegmentTemplate(fill(applyConditionalBlocks(INVITATION_TEXT_TEMPLATE, flags), false), INVITATION_KEYS);
      // comments go first: they may mention slots by name
      const mjml = fill(applyConditionalBlocks(mjmlSource, flags).replace(/<!--[\s\S]*?-->/g, ''), true);
      jobs.push(
        (async () => {
          const { html: compiled } = await compileMjml(mjml, { validationLevel: 'strict', keepComments: false });
          const html = parseSegmentTemplate(compiled, INVITATION_KEYS);
          if (html.literals.some((l) => l.includes('{{') || l.includes('[['))) {
            throw new Error(`invitation template (${method}) has a malformed placeholder`);
          }
          pair[index] = { subject, html, text, mime: compileAlternativeMessage({ text, html }, { volatileKeys: ['acceptUrl'] }) };
        })(),
      );
    }
  }
  await Promise.all(jobs);

  function prepare(data: InvitationMailData): { variant: Variant; values: PartValues<Key>; subject: string } {
    const pair = LOGIN_METHODS.includes(data.loginMethod) ? variants[data.loginMethod] : undefined;
    if (!pair) throw invalid('unknown login method');
    const org = organizationValues(data.organizationName ?? '');
    const organizationName = org.text;
    if (organizationName === '') throw invalid('organization name is empty');
    const acceptUrl = data.acceptUrl ?? '';
    if (!/^https?:\/\/[^\s\u0000-\u001f\u007f]+$/i.test(acceptUrl) || !URL.canParse(acceptUrl)) {
      throw invalid('accept URL must be an absolute http(s) URL');
    }
    if (!(data.expiresAt instanceof Date) || Number.isNaN(data.expiresAt.getTime())) throw invalid('expiresAt is not a valid date');
    const firstName = data.firstName ? cleanSingleLine(data.firstName) : '';
    const greeting = firstName ? COMMON_COPY.greetingNamed(firstName) : COMMON_COPY.greetingAnonymous;
    const message = data.message ? messageValues(data.message) : NO_MESSAGE;
    if (message.length > MAX_INVITATION_MESSAGE_LENGTH) {
      throw invalid(`message is longer than ${MAX_INVITATION_MESSAGE_LENGTH} characters`);
    }
    const expiresAt = formatExpiry(data.expiresAt);
    const variant = pair[(data.reminder ? 2 : 0) + (message.length > 0 ? 1 : 0)]!;
    return {
      variant,
      subject: fillSegmentTemplate(variant.subject, { organizationName }),
      values: {
        html: {
          greeting: escapeHtml(greeting),
          organizationName: org.html,
          acceptUrl: escapeHtml(acceptUrl),
          expiresAt: lastExpiryHtml,
          message: message.html,
        },
        text: {
          greeting,
          organizationName,
          acceptUrl,
          expiresAt,
          message: message.text,
        },
      },
    };
  }

  return Object.freeze({
    appName,
    from,
    envelopeFrom,
    render(data: InvitationMailData): RenderedInvitation {
      const { variant, values, subject } = prepare(data);
      return { subject, html: fillSegmentTemplate(variant.html, values.html), text: fillSegmentTemplate(variant.text, values.text) };
    },
    build(data: InvitationMailData, o: BuildInvitationOptions = {}): OutgoingMail {
      const { variant, values, subject } = prepare(data);
      const to = normalizeAddress(data.to ?? '');
      const name = [data.firstName, data.lastName].filter((x): x is string => !!x).map(cleanSingleLine).join(' ');
      const messageId = o.messageId
        ? normalizeMessageId(o.messageId)
        : o.messageIdLocal
          ? normalizeMessageId(`${o.messageIdLocal}@${messageIdDomain}`)
          : createMessageId(messageIdDomain);
      const raw = variant.mime.build(
        { from, to: formatMailbox({ name, address: to }), subject, messageId, date: o.date ?? new Date(), extra: o.headers },
        values,
      );
      const mail: OutgoingMail = { messageId, envelope: { from: envelopeFrom, to: [to] }, raw };
      if (o.logId !== undefined) mail.logId = o.logId;
      return mail;
    },
  });
}
