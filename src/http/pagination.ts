// Page-number pagination as Django REST framework's PageNumberPagination: `?page=N`, absolute
// next/previous links, and 404 "Invalid page." for a page that is not there.
import type { FastifyRequest } from 'fastify';
import { DomainError, type Page, type PageRequest } from '../core/index.ts';

export const PAGE_SIZE = 100;

export function pageRequest(raw: string | undefined, size = PAGE_SIZE): PageRequest & { page: number } {
  if (raw === undefined || raw === '') return { page: 1, offset: 0, limit: size };
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) {
    if (raw === 'last') return { page: -1, offset: 0, limit: size };
    throw new DomainError('NOT_FOUND', 'Invalid page.');
  }
  const page = Number(raw);
  return { page, offset: (page - 1) * size, limit: size };
}

function pageUrl(base: string, request: FastifyRequest, page: number): string {
  const url = new URL(request.url, base);
  if (page === 1) url.searchParams.delete('page');
  else url.searchParams.set('page', String(page));
  return base.replace(/\/+$/, '') + url.pathname + url.search;
}

export function pageLinks<T>(base: string, request: FastifyRequest, req: { page: number; limit: number }, result: Page<T>) {
  const lastPage = Math.max(1, Math.ceil(result.count / req.limit));
  if (req.page > lastPage) throw new DomainError('NOT_FOUND', 'Invalid page.');
  return {
    count: result.count,
    next: req.page < lastPage ? pageUrl(base, request, req.page + 1) : null,
    previous: req.page > 1 ? pageUrl(base, request, req.page - 1) : null,
  };
}

/** Fetches one page; `?page=last` is resolved with a first count. */
export async function fetchPage<T>(req: PageRequest & { page: number }, fetch: (r: PageRequest) => Promise<Page<T>>) {
  if (req.page !== -1) return { req, result: await fetch(req) };
  const first = await fetch({ offset: 0, limit: req.limit });
  const page = Math.max(1, Math.ceil(first.count / req.limit));
  const r = { page, offset: (page - 1) * req.limit, limit: req.limit };
  return { req: r, result: page === 1 ? first : await fetch(r) };
}

/** Limit/offset pagination as DRF's LimitOffsetPagination: `?limit=&offset=`, `{count, next, previous, results}`. */
export function limitOffset(query: { limit?: string; offset?: string }, defaultLimit = PAGE_SIZE, maxLimit = 1000): PageRequest {
  const num = (raw: string | undefined, fallback: number) => (raw !== undefined && /^\d{1,9}$/.test(raw) ? Number(raw) : fallback);
  const limit = Math.min(Math.max(num(query.limit, defaultLimit), 1), maxLimit);
  return { limit, offset: num(query.offset, 0) };
}

export function limitOffsetLinks(base: string, request: FastifyRequest, req: PageRequest, count: number) {
  const link = (offset: number) => {
    const url = new URL(request.url, base);
    url.searchParams.set('limit', String(req.limit));
    if (offset <= 0) url.searchParams.delete('offset');
    else url.searchParams.set('offset', String(offset));
    return base.replace(/\/+$/, '') + url.pathname + url.search;
  };
  return {
    count,
    next: req.offset + req.limit < count ? link(req.offset + req.limit) : null,
    previous: req.offset > 0 ? link(Math.max(req.offset - req.limit, 0)) : null,
  };
}
