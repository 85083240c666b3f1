import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse } from 'csv-parse';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { z } from 'zod';
import { AppError } from '../../src/lib/errors.js';
import type { ConnectorContext, HrConnector, HrEmployee, HrRejectedRecord } from '../types.js';
import { fieldsToEmployee, missingColumns, rowToEmployee } from './columns.js';

export const fileOptionsSchema = z
  .object({
    /** A .csv or .json export (JSON: an array of objects with the CSV's column names). */
    path: z.string().min(1).refine((p) => /\.(csv|json)$/i.test(p), 'must end in .csv or .json'),
    /** Records per page handed to the sync engine. */
    pageSize: z.number().int().min(1).max(50_000).default(2_000),
    /** CSV delimiter. */
    delimiter: z.string().length(1).default(','),
  })
  .strict();
export type FileOptions = z.infer<typeof fileOptionsSchema>;

/**
 * An HR export on disk. Streams the file: memory stays flat for a 1,000,000-row export.
 * Structural damage (unclosed quote, a last row cut short, invalid JSON) fails the listing;
 * a row in the middle with the wrong number of fields is rejected as `malformed_row`.
 */
export const fileConnector: HrConnector<FileOptions> = {
  type: 'file',
  configSchema: fileOptionsSchema,
  supportsIncremental: false,

  async checkConnection(config) {
    try {
      await access(config.path, constants.R_OK);
    } catch {
      throw new AppError('connector_request_failed', `cannot read HR export ${config.path}: no such file or not readable`);
    }
    if (extname(config.path).toLowerCase() === '.csv') {
      for await (const _page of readCsv(config, { reject: () => {}, headerOnly: true })) break;
    }
  },

  listEmployees(config, ctx) {
    return extname(config.path).toLowerCase() === '.json' ? readJson(config, ctx) : readCsv(config, ctx);
  },

  /**
   * The file is the HR system: the confirmation is a re-read of it (the export may have been
   * replaced since the listing). An id not in the file is `null`; a file that cannot be read
   * throws. Records are reported as they are, inactive included; a row of the id that cannot
   * be read leaves that id out (unknown).
   */
  async lookupEmployees(config, externalIds, ctx) {
    const wanted = new Set(externalIds.map((id) => String(id ?? '').trim()).filter(Boolean));
    const out = new Map<string, HrEmployee | null>();
    const unreadable = new Set<string>();
    const readCtx = {
      signal: ctx.signal,
      reject: (r: HrRejectedRecord) => {
        if (r.externalId) unreadable.add(r.externalId.trim());
        ctx.reject(r);
      },
    };
    const pages = extname(config.path).toLowerCase() === '.json' ? readJson(config, readCtx) : readCsv(config, readCtx);
    for await (const page of pages) {
      for (const e of page) {
        const id = e.externalId.trim();
        if (wanted.has(id) && !out.has(id)) out.set(id, { ...e, externalId: id });
      }
    }
    // A row of the id that could not be read is there, only unreadable: unknown, left out.
    for (const id of wanted) if (!out.has(id) && !unreadable.has(id)) out.set(id, null);
    return out;
  },
};

async function* readCsv(
  config: FileOptions,
  ctx: Pick<ConnectorContext, 'reject' | 'signal'> & { headerOnly?: boolean },
): AsyncGenerator<HrEmployee[]> {
  const source = createReadStream(config.path);
  const parser = parse({
    bom: true,
    delimiter: config.delimiter,
    relax_column_count: true,
    skip_empty_lines: true,
  });
  // Each record with its line number, read from the parser when the record is complete: what
  // the `info: true` option reports, without the two objects per record that option copies.
  const push = parser.push.bind(parser);
  parser.push = (record: string[] | null) => push(record === null ? null : { record, line: parser.info.lines });
  source.on('error', (err) => parser.destroy(wrapIo(err, config.path)));
  source.pipe(parser);

  let header: string[] | null = null;
  let toEmployee: ((fields: readonly string[]) => HrEmployee) | null = null;
  let page: HrEmployee[] = [];
  // One record of lookahead: a short row is "truncated" only when it is the last one.
  let pending: { record: string[]; line: number } | null = null;

  const emit = (rec: { record: string[]; line: number }, isLast: boolean): HrEmployee | null => {
    const fields = rec.record;
    if (fields.length !== header!.length) {
      if (isLast && fields.length < header!.length) {
        throw new AppError('listing_failed', `${config.path}: line ${rec.line}: the last row has ${fields.length} of ${header!.length} fields: the file looks truncated`);
      }
      const id = fields[header!.indexOf('employeeId')]?.trim() || null;
      ctx.reject({ externalId: id, reason: 'malformed_row', detail: `line ${rec.line}: ${fields.length} fields, header has ${header!.length}` });
      return null;
    }
    return toEmployee!(fields);
  };

  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; line: number }>) {
      if (ctx.signal?.aborted) throw new AppError('listing_failed', 'listing aborted');
      if (!header) {
        header = item.record.map((h) => h.trim());
        const missing = missingColumns(header);
        if (missing.length > 0) {
          throw new AppError('listing_failed', `${config.path}: missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header: ${header.join(', ')})`);
        }
        if (ctx.headerOnly) return;
        toEmployee = fieldsToEmployee(header);
        continue;
      }
      if (pending) {
        const e = emit(pending, false);
        if (e) page.push(e);
        if (page.length >= config.pageSize) {
          yield page;
          page = [];
        }
      }
      pending = item;
    }
  } catch (err) {
    throw asListingError(err, config.path);
  } finally {
    source.destroy();
  }
  if (!header) throw new AppError('listing_failed', `${config.path}: the file is empty (no header row)`);
  if (pending) {
    const e = emit(pending, true);
    if (e) page.push(e);
  }
  if (page.length > 0) yield page;
}

async function* readJson(config: FileOptions, ctx: Pick<ConnectorContext, 'reject' | 'signal'>): AsyncGenerator<HrEmployee[]> {
  const source = createReadStream(config.path);
  const stream = streamArray.withParserAsStream();
  source.on('error', (err) => stream.destroy(wrapIo(err, config.path)));
  source.pipe(stream);
  let page: HrEmployee[] = [];
  let checkedColumns = false;
  try {
    for await (const { key, value } of stream as AsyncIterable<{ key: number; value: unknown }>) {
      if (ctx.signal?.aborted) throw new AppError('listing_failed', 'listing aborted');
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        ctx.reject({ externalId: null, reason: 'malformed_row', detail: `element ${key} is not an object` });
        continue;
      }
      if (!checkedColumns) {
        const missing = missingColumns(Object.keys(value));
        if (missing.length > 0) {
          throw new AppError('listing_failed', `${config.path}: missing required field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} in the first record`);
        }
        checkedColumns = true;
      }
      page.push(rowToEmployee(value as Record<string, unknown>));
      if (page.length >= config.pageSize) {
        yield page;
        page = [];
      }
    }
  } catch (err) {
    throw asListingError(err, config.path);
  } finally {
    source.destroy();
  }
  if (page.length > 0) yield page;
}

function wrapIo(err: Error, path: string): AppError {
  const code = (err as NodeJS.ErrnoException).code;
  const what = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : err.message;
  return new AppError('listing_failed', `cannot read HR export ${path}: ${what}`, { cause: err });
}

function asListingError(err: unknown, path: string): AppError {
  if (err instanceof AppError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new AppError('listing_failed', `${path}: ${msg}`, { cause: err });
}
