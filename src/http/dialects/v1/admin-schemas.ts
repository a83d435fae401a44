// Schemas of the administration endpoints (tenants, clients), in the v1 API's style.
import { Type } from '@sinclair/typebox';

export const TenantOut = Type.Object({
  id: Type.String({ format: 'uuid', readOnly: true }),
  name: Type.String({ description: 'The name requests use in X-Tenant and users carry as tenant_id' }),
  display_name: Type.String(),
  is_active: Type.Boolean({ description: 'A disabled tenant refuses every request and credential' }),
  created_at: Type.String({ format: 'date-time', readOnly: true }),
  updated_at: Type.String({ format: 'date-time', readOnly: true }),
});

export const TenantCreate = Type.Object(
  { name: Type.String({ maxLength: 64 }), display_name: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);

export const TenantUpdate = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 64 })),
    display_name: Type.Optional(Type.String({ maxLength: 200 })),
    is_active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const StrList = (max: number, description: string) => Type.Array(Type.String({ maxLength: 2000 }), { maxItems: max, description });

export const ClientOut = Type.Object({
  client_id: Type.String(),
  name: Type.String(),
  confidential: Type.Boolean({ description: 'Has a secret (RFC 6749 confidential client)' }),
  grant_types: Type.Array(Type.String()),
  redirect_uris: Type.Array(Type.String()),
  scopes: Type.Array(Type.String(), { description: 'Scopes the client may ask for; empty means any' }),
  first_party: Type.Boolean({ description: 'The tenant\'s own application: the OpenID provider signs users in to it without a consent page' }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

export const ClientCreated = Type.Object({
  ...ClientOut.properties,
  client_secret: Type.Union([Type.String(), Type.Null()], { description: 'Shown once, here; stored only as a SHA-256 hash. Null for a public client.' }),
});

export const ClientCreate = Type.Object(
  {
    name: Type.String({ maxLength: 200 }),
    client_id: Type.Optional(Type.String({ maxLength: 100, description: 'Chosen id; generated when absent' })),
    grant_types: Type.Optional(StrList(8, 'Default ["password", "refresh_token"]')),
    redirect_uris: Type.Optional(StrList(50, 'Absolute URIs without fragment')),
    scopes: Type.Optional(StrList(100, 'Allowed scopes')),
    confidential: Type.Optional(Type.Boolean({ description: 'Default true: the server generates a secret' })),
    first_party: Type.Optional(Type.Boolean({ description: 'Default false: the OpenID provider asks each user for consent (third-party client); true skips that page' })),
  },
  { additionalProperties: false },
);

export const ClientUpdate = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200 })),
    client_id: Type.Optional(Type.String({ maxLength: 100, readOnly: true })),
    grant_types: Type.Optional(StrList(8, 'Grant types')),
    redirect_uris: Type.Optional(StrList(50, 'Absolute URIs without fragment')),
    scopes: Type.Optional(StrList(100, 'Allowed scopes')),
    confidential: Type.Optional(Type.Boolean({ readOnly: true })),
    first_party: Type.Optional(Type.Boolean({ description: 'True: the OpenID provider skips the consent page for this client' })),
  },
  { additionalProperties: false },
);
