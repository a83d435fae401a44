// The messages Latchkey sends, each with a text and an HTML part and a subject that names the
// tenant. Links are built on PUBLIC_URL.
import type { MailMessage } from './mailer.ts';

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function compose(to: string, tenantTitle: string, subject: string, lines: string[], link: { url: string; label: string }): MailMessage {
  const text = [...lines, '', `${link.label}: ${link.url}`, '', `-- ${tenantTitle}`].join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif">${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('')}`
    + `<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p><p>-- ${escapeHtml(tenantTitle)}</p></body></html>`;
  return { to, subject: `[${tenantTitle}] ${subject}`, text, html };
}

export function verificationMessage(baseUrl: string, tenantTitle: string, to: string, username: string, key: string): MailMessage {
  const url = `${baseUrl}/account/verify-email/?key=${encodeURIComponent(key)}`;
  return compose(to, tenantTitle, 'Please confirm your e-mail address', [
    `Hello ${username},`,
    `please confirm that ${to} is your e-mail address by following the link below.`,
    'If you did not ask for this, ignore this message.',
  ], { url, label: 'Confirm your e-mail address' });
}

/** "1 hour", "3 hours", "10 minutes", "90 minutes". */
export function duration(seconds: number): string {
  const [n, unit] = seconds % 3600 === 0 ? [seconds / 3600, 'hour'] : [Math.max(1, Math.round(seconds / 60)), 'minute'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

export function resetMessage(baseUrl: string, tenantTitle: string, to: string, username: string, uid: string, token: string, lifetimeSeconds: number): MailMessage {
  const url = `${baseUrl}/account/reset-password/?uid=${encodeURIComponent(uid)}&token=${encodeURIComponent(token)}`;
  return compose(to, tenantTitle, 'Password reset', [
    `Hello ${username},`,
    `someone asked to reset the password of your account. The link below works once, within ${duration(lifetimeSeconds)}.`,
    'If it was not you, ignore this message: your password stays as it is.',
  ], { url, label: 'Choose a new password' });
}

export function loginCodeMessage(tenantTitle: string, to: string, username: string, code: string, lifetimeSeconds: number): MailMessage {
  const text = [
    `Hello ${username},`,
    `your sign-in code is ${code}. It works once, within ${duration(lifetimeSeconds)}.`,
    'If you did not ask for it, ignore this message: nobody can sign in without it.',
    '', `-- ${tenantTitle}`,
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif"><p>Hello ${escapeHtml(username)},</p>`
    + `<p>your sign-in code is <strong style="font-size:1.4em;letter-spacing:.1em">${escapeHtml(code)}</strong>. It works once, within ${duration(lifetimeSeconds)}.</p>`
    + `<p>If you did not ask for it, ignore this message: nobody can sign in without it.</p><p>-- ${escapeHtml(tenantTitle)}</p></body></html>`;
  return { to, subject: `[${tenantTitle}] Your sign-in code`, text, html };
}
