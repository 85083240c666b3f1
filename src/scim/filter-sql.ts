import { parse, type Filter } from 'scim2-parse-filter';
import { invalidFilter } from './scim-error.js';
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from './discovery.js';

/**
 * A SCIM filter (RFC 7644 §3.4.2.2), parsed by scim2-parse-filter, turned into a SQL condition
 * with bound parameters: the store answers it with its indexes, whatever the organization's
 * size. Attributes this service does not know, and operators that do not fit them, are a 400
 * `invalidFilter`, never a 500.
 */

export interface Column {
  /** SQL expression of the attribute (for strings: already lower-cased when not caseExact) */
  sql: string;
  type: 'string' | 'boolean' | 'date';
  caseExact?: boolean;
}

/** Column set of a resource: lower-cased attribute path → column; a multi-valued attribute's sub-attributes as `emails.value`. */
export type Columns = Record<string, Column>;

const MAX_FILTER_LENGTH = 2_000;
const MAX_NODES = 50;

export interface SqlCondition {
  sql: string;
  params: unknown[];
}

function normalizePath(path: string): string {
  let p = path.trim();
  for (const urn of [ENTERPRISE_SCHEMA, USER_SCHEMA, GROUP_SCHEMA]) {
    if (p.toLowerCase().startsWith(`${urn.toLowerCase()}:`)) p = p.slice(urn.length + 1);
  }
  return p.toLowerCase();
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw invalidFilter(`the filter is longer than ${MAX_FILTER_LENGTH} characters`);
  try {
    return parse(text);
  } catch (err) {
    throw invalidFilter(`the filter cannot be parsed: ${String((err as Error).message ?? err).slice(0, 120)}`);
  }
}

export function filterToSql(text: string, columns: Columns): SqlCondition {
  const params: unknown[] = [];
  let nodes = 0;
  const walk = (f: Filter, prefix: string): string => {
    if (++nodes > MAX_NODES) throw invalidFilter(`the filter has more than ${MAX_NODES} terms`);
    switch (f.op) {
      case 'and':
      case 'or':
        return `(${f.filters.map((x) => walk(x, prefix)).join(f.op === 'and' ? ' and ' : ' or ')})`;
      case 'not':
        return `(not coalesce(${walk(f.filter, prefix)}, false))`;
      case '[]':
        return walk(f.valFilter, `${prefix}${normalizePath(f.attrPath)}.`);
      case 'pr': {
        const col = column(prefix + normalizePath(f.attrPath));
        return col.type === 'string' ? `(${col.sql} is not null and ${col.sql} <> '')` : `(${col.sql} is not null)`;
      }
      default: {
        const path = prefix + normalizePath(f.attrPath);
        const col = column(path);
        return compare(col, f.op, f.compValue, path);
      }
    }
  };
  const column = (path: string): Column => {
    const c = columns[path] ?? columns[`${path}.value`];
    if (!c) throw invalidFilter(`the attribute "${path.slice(0, 100)}" cannot be filtered on`);
    return c;
  };
  const compare = (col: Column, op: string, value: unknown, path: string): string => {
    if (col.type === 'boolean') {
      const b = typeof value === 'boolean' ? value : typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : null;
      if (b === null || (op !== 'eq' && op !== 'ne')) throw invalidFilter(`"${path}" is a boolean: use eq or ne with true or false`);
      params.push(b);
      return op === 'eq' ? `(${col.sql} = ?)` : `(${col.sql} is distinct from ?)`;
    }
    if (value === null) {
      if (op === 'eq') return `(${col.sql} is null)`;
      if (op === 'ne') return `(${col.sql} is not null)`;
      throw invalidFilter(`"${path}": ${op} needs a value`);
    }
    if (typeof value !== 'string') throw invalidFilter(`"${path}" is a ${col.type}: compare it with a string`);
    if (value.includes('\u0000')) throw invalidFilter('the filter may not contain the NUL character');
    if (col.type === 'date') {
      if (Number.isNaN(Date.parse(value))) throw invalidFilter(`"${path}": "${value.slice(0, 40)}" is not a date-time`);
      const sqlOp = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
      if (!sqlOp) throw invalidFilter(`"${path}" is a date-time: ${op} does not apply`);
      params.push(value);
      return `(${col.sql} ${sqlOp} ?::timestamptz)`;
    }
    const v = col.caseExact ? value : value.toLowerCase();
    switch (op) {
      case 'eq':
        params.push(v);
        return `(${col.sql} = ?)`;
      case 'ne':
        params.push(v);
        return `(${col.sql} is distinct from ?)`;
      case 'co':
      case 'sw':
      case 'ew':
        params.push(`${op === 'sw' ? '' : '%'}${escapeLike(v)}${op === 'ew' ? '' : '%'}`);
        return `(${col.sql} like ?)`;
      case 'gt':
      case 'ge':
      case 'lt':
      case 'le':
        params.push(v);
        return `(${col.sql} ${{ gt: '>', ge: '>=', lt: '<', le: '<=' }[op]} ? collate "C")`;
      default:
        throw invalidFilter(`unknown operator ${op}`);
    }
  };
  const ast = parseFilter(text);
  const sql = walk(ast, '');
  return { sql, params };
}
