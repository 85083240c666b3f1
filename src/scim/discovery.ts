/** The SCIM 2.0 discovery documents (RFC 7643 §5–7, RFC 7644 §4): what this service provider supports. */

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RT_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export const MAX_RESULTS = 1000;

export function serviceProviderConfig(base: string): Record<string, unknown> {
  return {
    schemas: [SPC_SCHEMA],
    documentationUri: 'https://github.com/hrsync/hrsync#scim-20',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'An organization API token with the scim scope (hrsync tokens create --org ID --scope scim)', primary: true },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

export function resourceTypes(base: string): Array<Record<string, unknown>> {
  return [
    {
      schemas: [RT_SCHEMA], id: 'User', name: 'User', endpoint: '/Users', description: 'A person of the organization',
      schema: USER_SCHEMA, schemaExtensions: [{ schema: ENTERPRISE_SCHEMA, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [RT_SCHEMA], id: 'Group', name: 'Group', endpoint: '/Groups', description: 'A group of the organization',
      schema: GROUP_SCHEMA, meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
}

type Attr = Record<string, unknown>;
const attr = (name: string, type: string, extra: Attr = {}): Attr => ({
  name, type, multiValued: false, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...extra,
});
const complex = (name: string, subAttributes: Attr[], extra: Attr = {}): Attr => attr(name, 'complex', { subAttributes, ...extra });

export function schemas(base: string): Array<Record<string, unknown>> {
  const meta = (id: string) => ({ resourceType: 'Schema', location: `${base}/Schemas/${id}` });
  return [
    {
      schemas: [SCHEMA_SCHEMA], id: USER_SCHEMA, name: 'User', description: 'User Account',
      attributes: [
        attr('userName', 'string', { required: true, uniqueness: 'server' }),
        complex('name', [attr('givenName', 'string'), attr('familyName', 'string'), attr('formatted', 'string')]),
        attr('displayName', 'string'),
        attr('title', 'string'),
        attr('active', 'boolean'),
        attr('externalId', 'string', { caseExact: true }),
        complex('emails', [attr('value', 'string'), attr('type', 'string', { canonicalValues: ['work', 'home', 'other'] }), attr('primary', 'boolean')], { multiValued: true }),
        complex('addresses', [attr('locality', 'string'), attr('type', 'string'), attr('primary', 'boolean')], { multiValued: true }),
      ],
      meta: meta(USER_SCHEMA),
    },
    {
      schemas: [SCHEMA_SCHEMA], id: ENTERPRISE_SCHEMA, name: 'EnterpriseUser', description: 'Enterprise User',
      attributes: [
        attr('employeeNumber', 'string'),
        attr('department', 'string'),
        complex('manager', [attr('value', 'string'), attr('displayName', 'string', { mutability: 'readOnly' })]),
      ],
      meta: meta(ENTERPRISE_SCHEMA),
    },
    {
      schemas: [SCHEMA_SCHEMA], id: GROUP_SCHEMA, name: 'Group', description: 'Group',
      attributes: [
        attr('displayName', 'string', { required: true, uniqueness: 'server' }),
        complex('members', [attr('value', 'string', { mutability: 'immutable' }), attr('display', 'string', { mutability: 'readOnly' })], { multiValued: true }),
      ],
      meta: meta(GROUP_SCHEMA),
    },
  ];
}
