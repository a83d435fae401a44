// The REST-auth API's schemas: what each route takes and answers (an answer's schema is also
// its allow-list), shared by its route modules and the OpenAPI document.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Core } from '../../../core/index.ts';

export interface Options {
  core: Core;
  publicUrl: string;
}

export type TypedApp = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>;

export const Detail = Type.Object({ detail: Type.String(), code: Type.Optional(Type.String({ description: 'simplejwt\'s `token_not_valid` on a refused JWT' })) });
export const FieldErrors = Type.Record(Type.String(), Type.Union([Type.Array(Type.String()), Type.String()]));
export const errors = { 400: FieldErrors, 401: Detail, 403: Detail, 404: Detail, 429: Detail, 503: Detail };
export const security: Array<Record<string, string[]>> = [{ cookieAuth: [] }, { basicAuth: [] }, { tokenAuth: [] }];
export const tags = ['auth (REST-auth)'];
export const Pw = Type.String({ maxLength: 8192 });
export const Key = Type.Object({ key: Type.String({ description: 'Token key: send it as `Authorization: Token <key>`' }) });
export const LimitOffset = Type.Object({
  limit: Type.Optional(Type.String({ description: 'Number of results to return per page (default 100).' })),
  offset: Type.Optional(Type.String({ description: 'The initial index from which to return the results.' })),
});
export const IntId = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,10}$' }) });
export const EmailOut = Type.Object({ email: Type.String(), id: Type.Integer(), primary: Type.Boolean(), user: Type.Integer(), verified: Type.Boolean() });
export const UserOut = Type.Object({ pk: Type.Integer(), username: Type.String(), email: Type.String(), first_name: Type.String(), last_name: Type.String() });
export const list = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({ count: Type.Integer(), next: Type.Union([Type.String(), Type.Null()]), previous: Type.Union([Type.String(), Type.Null()]), results: Type.Array(item) });
