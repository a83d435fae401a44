// The operating contract's environment variables, read and checked once at start.
import path from 'node:path';
import { parseTrustedOrigins } from '../http/plugins/trusted-origins.ts';
import { parseSecretKeys } from './secret-keys.ts';

export interface BootstrapAdmin {
  username: string;
  password: string;
  email: string;
}

export interface Config {
  host: string;
  port: number;
  databaseUrl: string;
  redisUrl: string | undefined;
  smtpUrl: string | undefined;
  publicUrl: string;
  dataDir: string;
  logLevel: string;
  trustProxy: boolean;
  /** CSRF_TRUSTED_ORIGINS: origins besides PUBLIC_URL's whose pages may send cookie-authenticated writes. */
  csrfTrustedOrigins: string[];
  /** The From address of e-mails (MAIL_FROM). */
  mailFrom: string;
  bootstrapAdmin: BootstrapAdmin | undefined;
  /** LATCHKEY_SECRET_KEYS; undefined: the data directory's generated key (secret-keys.ts). */
  secretKeys: string[] | undefined;
}

export class ConfigError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 8000;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`PORT must be a whole number from 0 to 65535, got "${raw}"`);
  const port = Number(raw);
  if (port > 65535) throw new ConfigError(`PORT must be a whole number from 0 to 65535, got "${raw}"`);
  return port;
}

function parseUrl(name: string, raw: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL: "${raw}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => p + '//').join(' or ')}, got "${raw}"`);
  }
  return raw;
}

/** The data directory is where the default SQLite file lives (and, later, the e-mail outbox). */
export function dataDirFor(databaseUrl: string): string {
  if (databaseUrl.startsWith('sqlite:') && databaseUrl !== 'sqlite::memory:') {
    return path.dirname(path.resolve(databaseUrl.slice('sqlite:'.length)));
  }
  return path.resolve('data');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = parsePort(env.PORT);
  const databaseUrl = env.DATABASE_URL || 'sqlite:./data/latchkey.db';
  if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be sqlite:<path>, sqlite::memory: or postgres://user:pass@host:port/db`);
  }
  const publicUrl = parseUrl('PUBLIC_URL', env.PUBLIC_URL || `http://localhost:${port}`, ['http:', 'https:']).replace(/\/+$/, '');
  const redisUrl = env.REDIS_URL ? parseUrl('REDIS_URL', env.REDIS_URL, ['redis:', 'rediss:']) : undefined;
  const smtpUrl = env.SMTP_URL ? parseUrl('SMTP_URL', env.SMTP_URL, ['smtp:', 'smtps:']) : undefined;
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const trustProxy = env.TRUST_PROXY === '1' || env.TRUST_PROXY === 'true';
  const csrfTrustedOrigins = (env.CSRF_TRUSTED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  try {
    parseTrustedOrigins(publicUrl, csrfTrustedOrigins);
  } catch (err) {
    throw new ConfigError(`CSRF_TRUSTED_ORIGINS: ${(err as Error).message}`);
  }

  let bootstrapAdmin: BootstrapAdmin | undefined;
  const username = env.LATCHKEY_BOOTSTRAP_ADMIN_USERNAME;
  const password = env.LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD;
  if (username || password) {
    if (!username || !password) {
      throw new ConfigError('LATCHKEY_BOOTSTRAP_ADMIN_USERNAME and LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD must be set together');
    }
    bootstrapAdmin = { username, password, email: env.LATCHKEY_BOOTSTRAP_ADMIN_EMAIL || '' };
  }

  return {
    host: env.HOST || '0.0.0.0',
    port,
    databaseUrl,
    redisUrl,
    smtpUrl,
    publicUrl,
    dataDir: dataDirFor(databaseUrl),
    logLevel,
    trustProxy,
    csrfTrustedOrigins,
    mailFrom: env.MAIL_FROM || `Latchkey <no-reply@${new URL(publicUrl).hostname}>`,
    bootstrapAdmin,
    secretKeys: parseSecretKeys(env.LATCHKEY_SECRET_KEYS),
  };
}
