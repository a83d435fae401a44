// The rules for a user's own fields, shared by every dialect.

export const USERNAME_MAX = 150;
export const NAME_MAX = 150;
export const EMAIL_MAX = 254;

// Letters (any script), digits and @ . + - _ : Django's UnicodeUsernameValidator.
const USERNAME_RE = /^[\p{L}\p{N}@.+\-_]+$/u;

/** NFKC folds look-alike forms (full-width letters, ligatures) into one spelling. */
export const normalizeUsername = (raw: string): string => raw.normalize('NFKC');

export function usernameProblem(username: string): string | undefined {
  if (username.length === 0) return 'This field may not be blank.';
  if ([...username].length > USERNAME_MAX) return `Ensure this field has no more than ${USERNAME_MAX} characters.`;
  if (!USERNAME_RE.test(username)) {
    return 'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.';
  }
  return undefined;
}

// Deliberately plain: one @, no spaces, a dot in the domain. Delivery proves the rest.
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Lower-cases the domain part, as Django's normalize_email does. */
export function normalizeEmail(raw: string): string {
  const email = raw.trim();
  const at = email.lastIndexOf('@');
  return at < 0 ? email : email.slice(0, at) + '@' + email.slice(at + 1).toLowerCase();
}

export function emailProblem(email: string): string | undefined {
  if (email === '') return undefined; // an address is optional
  if (email.length > EMAIL_MAX) return `Ensure this field has no more than ${EMAIL_MAX} characters.`;
  if (!EMAIL_RE.test(email)) return 'Enter a valid email address.';
  return undefined;
}

export function nameProblem(name: string): string | undefined {
  return [...name].length > NAME_MAX ? `Ensure this field has no more than ${NAME_MAX} characters.` : undefined;
}

export const AVATAR_MAX = 2048;

/** An avatar is an absolute http(s) URL, or null for none. */
export function avatarProblem(avatar: string | null): string | undefined {
  if (avatar === null) return undefined;
  if (avatar.length > AVATAR_MAX) return `Ensure this field has no more than ${AVATAR_MAX} characters.`;
  try {
    const u = new URL(avatar);
    if (u.protocol === 'http:' || u.protocol === 'https:') return undefined;
  } catch {
    // falls through
  }
  return 'Enter a valid URL (http or https).';
}
