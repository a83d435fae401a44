// Drivers that a deployment may not use are loaded on first use, not at start: in an idle
// server ioredis costs about 7 MB, nodemailer 3 MB and pg 2 MB (measured with process.memoryUsage).
// All three are CommonJS, so a synchronous require keeps their callers synchronous.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const loadPg = (): typeof import('pg').default => require('pg');
export const loadRedis = (): typeof import('ioredis').Redis => (require('ioredis') as typeof import('ioredis')).Redis;
export const loadNodemailer = (): typeof import('nodemailer') => require('nodemailer');
