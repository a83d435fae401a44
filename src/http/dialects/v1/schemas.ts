// Request and response schemas of the v1 API ("Authentication v1.0.0"). Response schemas are
// output allow-lists: a field not listed here (a hash, a flag) is never serialised.
import { Type } from '@sinclair/typebox';
import { EMAIL_MAX, GROUP_NAME_MAX, NAME_MAX, USERNAME_MAX } from '../../../core/index.ts';

const Str = (max: number, extra: object = {}) => Type.String({ maxLength: max, ...extra });
// Passwords are bounded in bytes by the core; 4,096 characters is only the schema's outer fence.
const Password = Type.String({ maxLength: 4096 });

export const Detail = Type.Object(
  { detail: Type.String(), code: Type.Optional(Type.String({ description: 'simplejwt\'s `token_not_valid` on a refused token' })) },
  { $id: 'Detail', description: 'An error, as Django REST framework words it.' },
);
export const FieldErrors = Type.Record(Type.String(), Type.Union([Type.Array(Type.String()), Type.String()]), {
  description: 'Field name -> messages; `non_field_errors` for the input as a whole; `detail` for a body that could not be read.',
});

export const User = Type.Object(
  {
    id: Type.String({ format: 'uuid', readOnly: true }),
    username: Type.String({ readOnly: true, description: 'Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.' }),
    tenant_id: Type.String({ description: 'Name of the tenant the user belongs to.' }),
    email: Type.String(),
    first_name: Type.String(),
    last_name: Type.String(),
  },
  { additionalProperties: false },
);

export const CreateUserBody = Type.Object(
  {
    username: Str(USERNAME_MAX),
    password: Password,
    tenant_id: Type.Optional(Str(64)),
    first_name: Type.Optional(Str(NAME_MAX)),
    last_name: Type.Optional(Str(NAME_MAX)),
    email: Type.Optional(Str(EMAIL_MAX)),
  },
  { additionalProperties: false },
);

export const UpdateUserBody = Type.Object(
  {
    id: Type.Optional(Type.String({ readOnly: true, description: 'Read-only: accepted only when equal to the current value.' })),
    username: Type.Optional(Type.String({ readOnly: true, description: 'Read-only: accepted only when equal to the current value.' })),
    tenant_id: Type.Optional(Str(64)),
    email: Type.Optional(Str(EMAIL_MAX)),
    first_name: Type.Optional(Str(NAME_MAX)),
    last_name: Type.Optional(Str(NAME_MAX)),
  },
  { additionalProperties: false },
);

export const Privilege = Type.Object(
  { id: Type.String({ format: 'uuid', readOnly: true }), name: Type.String() },
  { additionalProperties: false },
);

export const PrivilegeBody = Type.Object(
  { id: Type.Optional(Type.String({ readOnly: true })), name: Str(GROUP_NAME_MAX) },
  { additionalProperties: false },
);
export const PatchedPrivilegeBody = Type.Object(
  { id: Type.Optional(Type.String({ readOnly: true })), name: Type.Optional(Str(GROUP_NAME_MAX)) },
  { additionalProperties: false },
);

export const MemberBody = Type.Object(
  {
    id: Type.Optional(Type.String({ maxLength: 64, description: 'UUID of the user to add' })),
    username: Type.Optional(Type.String({ maxLength: USERNAME_MAX, description: 'or its username' })),
    tenant_id: Type.Optional(Str(64)),
    email: Type.Optional(Str(EMAIL_MAX)),
    first_name: Type.Optional(Str(NAME_MAX)),
    last_name: Type.Optional(Str(NAME_MAX)),
  },
  { additionalProperties: false, description: 'Names the user to add, by `id` or `username`; other User fields are ignored.' },
);

export const AppSetting = Type.Object(
  { key: Type.String({ maxLength: 100 }), value: Type.String({ maxLength: 1000 }) },
  { additionalProperties: false },
);

export const TokenObtainBody = Type.Object(
  { username: Type.String({ maxLength: 4096 }), password: Type.String({ maxLength: 8192 }) },
  { additionalProperties: false },
);
export const TokenPair = Type.Object({
  access: Type.String({ description: 'JWT access token (ES256, `typ: at+jwt`)' }),
  refresh: Type.String({ description: 'Opaque refresh token: single use, rotated on every refresh' }),
});
export const TokenRefreshBody = Type.Object({ refresh: Type.String({ maxLength: 4096 }) }, { additionalProperties: false });
export const LogoutBody = Type.Object(
  { refresh: Type.Optional(Type.String({ maxLength: 4096, description: 'Also revoke the family of this refresh token' })) },
  { additionalProperties: false },
);

export const PasswordUpdateBody = Type.Object(
  { current_password: Type.String({ maxLength: 8192 }), new_password: Type.String({ maxLength: 8192 }) },
  { additionalProperties: false },
);

export const IdParam = Type.Object({ id: Type.String() });
export const GroupParam = Type.Object({ group_pk: Type.String() });
export const MemberParams = Type.Object({ group_pk: Type.String(), id: Type.String() });
export const PageQuery = Type.Object({
  page: Type.Optional(Type.String({ description: 'A page number within the paginated result set (or `last`).' })),
});

export function paginated<T extends ReturnType<typeof Type.Object>>(item: T) {
  return Type.Object({
    count: Type.Integer(),
    next: Type.Union([Type.String({ format: 'uri' }), Type.Null()]),
    previous: Type.Union([Type.String({ format: 'uri' }), Type.Null()]),
    resources: Type.Array(item),
  });
}

/** Either credential of the document: the session cookie or a Bearer JWT. */
export const secured: Array<Record<string, string[]>> = [{ cookieAuth: [] }, { jwtAuth: [] }];
