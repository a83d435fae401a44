// Turns JSON-schema (AJV) errors into field -> messages, worded as Django REST framework does.
import type { FieldErrors } from '../core/index.ts';

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, any>;
  message?: string;
}

function fieldOf(e: AjvError): string {
  if (e.keyword === 'required') return String(e.params.missingProperty);
  if (e.keyword === 'additionalProperties') return String(e.params.additionalProperty);
  const path = e.instancePath.replace(/^\//, '').split('/');
  return path[0] === '' ? 'non_field_errors' : path[0]!;
}

function messageOf(e: AjvError): string {
  switch (e.keyword) {
    case 'required': return 'This field is required.';
    case 'additionalProperties': return 'Unknown field.';
    case 'type': {
      const t = e.params.type as string;
      if (e.instancePath === '') return 'Invalid data. Expected a dictionary (JSON object).';
      if (t === 'string') return 'Not a valid string.';
      if (t === 'integer') return 'A valid integer is required.';
      if (t === 'number') return 'A valid number is required.';
      if (t === 'boolean') return 'Must be a valid boolean.';
      if (t === 'object') return 'Expected a dictionary of items.';
      if (t === 'array') return 'Expected a list of items.';
      return `Must be of type ${t}.`;
    }
    case 'maxLength': return `Ensure this field has no more than ${e.params.limit} characters.`;
    case 'minLength': return e.params.limit === 1 ? 'This field may not be blank.' : `Ensure this field has at least ${e.params.limit} characters.`;
    case 'format':
      if (e.params.format === 'email') return 'Enter a valid email address.';
      if (e.params.format === 'uuid') return 'Must be a valid UUID.';
      if (e.params.format === 'uri') return 'Enter a valid URL.';
      return `Enter a valid ${e.params.format}.`;
    case 'maximum': return `Ensure this value is less than or equal to ${e.params.limit}.`;
    case 'minimum': return `Ensure this value is greater than or equal to ${e.params.limit}.`;
    case 'enum': return `"${e.params.allowedValues?.join('", "')}" are the valid choices.`;
    case 'maxProperties': return `Ensure this object has no more than ${e.params.limit} keys.`;
    case 'maxItems': return `Ensure this field has no more than ${e.params.limit} elements.`;
    default: return e.message ?? 'Invalid value.';
  }
}

export function ajvToFields(errors: AjvError[]): FieldErrors {
  const out: FieldErrors = {};
  for (const e of errors) {
    const field = fieldOf(e);
    const msg = messageOf(e);
    // Own keys only: a field named `constructor` or `toString` must not find Object.prototype's.
    const list = Object.hasOwn(out, field) ? out[field]! : (out[field] = []);
    if (!list.includes(msg)) list.push(msg);
  }
  return out;
}

export type { AjvError };
