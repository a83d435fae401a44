// Shared by the readers: the file-level error, and field conversions that name what is wrong.
import type { ImportItem } from '../../core/import/index.ts';

/** The file cannot be read at all (not JSON, truncated, not the format's shape): nothing is imported. */
export class FileProblem extends Error {}

/** A row's field has the wrong type: the row is rejected with this message. */
export class RowProblem extends Error {}

export const text = (v: unknown, field: string, def = ''): string => {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string') throw new RowProblem(`field "${field}" must be a string`);
  return v;
};

export const bool = (v: unknown, field: string, def: boolean): boolean => {
  if (v === undefined || v === null || v === '') return def;
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['true', '1', 't', 'yes'].includes(s)) return true;
    if (['false', '0', 'f', 'no'].includes(s)) return false;
  }
  throw new RowProblem(`field "${field}" must be true or false, not ${JSON.stringify(v).slice(0, 40)}`);
};

/** An ISO 8601 date-time, epoch milliseconds, or a Date; null when absent. */
export const time = (v: unknown, field: string): number | null => {
  if (v === undefined || v === null || v === '') return null;
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.getTime();
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string') {
    if (/^\d{1,15}$/.test(v)) return Number(v);
    const t = Date.parse(v);
    if (/^\d{4}-\d\d-\d\d/.test(v) && !Number.isNaN(t)) return t;
  }
  throw new RowProblem(`field "${field}" must be a date-time (ISO 8601) or epoch milliseconds, not ${JSON.stringify(v).slice(0, 40)}`);
};

export const strings = (v: unknown, field: string): string[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new RowProblem(`field "${field}" must be a list of strings`);
  return v as string[];
};

export const object = (v: unknown, field: string): Record<string, unknown> | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new RowProblem(`field "${field}" must be a JSON object`);
  return v as Record<string, unknown>;
};

/** Runs a row's conversion; a RowProblem becomes a rejected row at that line. */
export function row(line: number, convert: () => ImportItem | ImportItem[]): ImportItem[] {
  try {
    const r = convert();
    return Array.isArray(r) ? r : [r];
  } catch (err) {
    if (err instanceof RowProblem) return [{ kind: 'rejected', line, reason: err.message }];
    throw err;
  }
}

/** JSON.parse, with V8's position turned into a line number in the message. */
export function parseJson(source: string, what: string): unknown {
  try {
    return JSON.parse(source);
  } catch (err) {
    const m = /position (\d+)/.exec((err as Error).message);
    const line = m ? source.slice(0, Number(m[1])).split('\n').length : source.split('\n').length;
    throw new FileProblem(`${what} is not valid JSON (line ${line}): ${(err as Error).message.replace(/ in JSON at position \d+.*$/, '')}${source.trim() ? '' : ' (the file is empty)'}`);
  }
}

/**
 * The line each element of a top-level JSON array starts on (JSON.parse has already checked the
 * text; this only counts brackets outside strings to place the elements).
 */
export function arrayElementLines(source: string): number[] {
  const lines: number[] = [];
  let depth = 0, line = 1, inString = false, expectElement = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\n') line++;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
    if (depth === 1 && expectElement && c !== ']') {
      lines.push(line);
      expectElement = false;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 1) expectElement = true;
  }
  return lines;
}

/**
 * The line on which each value of `"key": "value"` first appears, in one pass over the text, for
 * records nested deep in a document (Keycloak's users): JSON.parse has already checked the text.
 */
export function linesOfKey(source: string, key: string): Map<string, number> {
  const found = new Map<string, number>();
  const re = new RegExp(`"${key}"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*")`, 'g');
  let line = 1;
  let at = 0;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    for (let i = source.indexOf('\n', at); i !== -1 && i < m.index; i = source.indexOf('\n', i + 1)) line++;
    at = m.index;
    try {
      const value = JSON.parse(m[1]) as string;
      if (!found.has(value)) found.set(value, line);
    } catch {
      // not a plain string value: not a place to point at
    }
  }
  return found;
}

/** "Ada King Lovelace" -> ["Ada King", "Lovelace"]: the last word is the last name. */
export function splitName(name: string): [string, string] {
  const n = name.trim();
  const at = n.lastIndexOf(' ');
  return at < 0 ? [n, ''] : [n.slice(0, at).trim(), n.slice(at + 1)];
}
