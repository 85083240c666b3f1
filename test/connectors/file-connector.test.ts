import { execFileSync } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileConnector, fileOptionsSchema } from '../../connectors/file/index.js';
import type { HrEmployee, HrRejectedRecord } from '../../connectors/types.js';
import { silentLogger } from '../../src/lib/logger.js';
import { tempDir } from '../support/store.js';

const dir = tempDir();
let k = 0;

async function list(content: string, ext = 'csv', pageSize = 2): Promise<{ pages: HrEmployee[][]; rejected: HrRejectedRecord[] }> {
  const path = join(dir, `f${++k}.${ext}`);
  writeFileSync(path, content);
  const rejected: HrRejectedRecord[] = [];
  const pages: HrEmployee[][] = [];
  const config = fileOptionsSchema.parse({ path, pageSize });
  for await (const page of fileConnector.listEmployees(config, { log: silentLogger, since: null, includeInactive: true, reject: (r) => rejected.push(r) })) pages.push(page);
  return { pages, rejected };
}

const HEADER = 'employeeId,email,firstName,lastName,jobTitle,department,location,managerId,status,startDate,endDate';

describe('file connector', () => {
  it('reads CSV with a UTF-8 BOM, CRLF line ends, quoted commas and quotes, in pages', async () => {
    const csv = `\uFEFF${HEADER}\r\n1,ana@acme.example,Ana,"Ruiz, PhD","Head of ""Fun""",Finance,Berlin,,active,2024-01-01,\r\n2,ben@acme.example,Ben,O'Neil,Dev,IT,Munich,1,inactive,2023-05-01,2026-01-31\r\n3,cy@acme.example,Cy,"Multi
Line",Dev,IT,Munich,1,active,,\r\n`;
    const { pages, rejected } = await list(csv);
    expect(rejected).toEqual([]);
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    expect(pages[0][0]).toStrictEqual({
      externalId: '1', email: 'ana@acme.example', firstName: 'Ana', lastName: 'Ruiz, PhD', jobTitle: 'Head of "Fun"',
      department: 'Finance', location: 'Berlin', managerExternalId: null, status: 'active', startDate: '2024-01-01', endDate: null, attributes: {},
    });
    expect(pages[0][1]).toMatchObject({ externalId: '2', lastName: "O'Neil", status: 'inactive', managerExternalId: '1', endDate: '2026-01-31' });
    expect(pages[1][0].lastName).toBe('Multi\nLine');
  });

  it('ignores column order, keeps unknown columns as attributes, and needs only the required columns', async () => {
    const { pages } = await list(`lastName,costCenter,email,employeeId,firstName\nRuiz,4711,ana@acme.example,1,Ana\n`);
    expect(pages[0][0]).toMatchObject({ externalId: '1', lastName: 'Ruiz', status: 'active', department: null, attributes: { costCenter: '4711' } });
  });

  it('names a missing required column in a clear error', async () => {
    await expect(list(`employeeId,firstName,lastName\n1,Ana,Ruiz\n`)).rejects.toThrow(/missing required column email/);
    await expect(list(`id,mail\n1,a@b.co\n`)).rejects.toThrow(/missing required columns employeeId, email, firstName, lastName/);
  });

  it('fails the listing when the last row is cut short (a truncated file)', async () => {
    await expect(list(`${HEADER}\n1,ana@acme.example,Ana,Ruiz,Dev,IT,Berlin,,active,,\n2,ben@acme.exa`)).rejects.toThrow(/truncated/);
  });

  it('fails the listing on an unclosed quote', async () => {
    await expect(list(`${HEADER}\n1,ana@acme.example,"Ana,Ruiz,Dev,IT,Berlin,,active,,\n`)).rejects.toMatchObject({ code: 'listing_failed' });
  });

  it('rejects a malformed row in the middle and goes on', async () => {
    const { pages, rejected } = await list(`${HEADER}\n1,a@acme.example,A,B,,,,,active,,\n2,b@acme.example,only-three\n3,c@acme.example,C,D,,,,,active,,\n`);
    expect(pages.flat().map((e) => e.externalId)).toEqual(['1', '3']);
    expect(rejected).toMatchObject([{ externalId: '2', reason: 'malformed_row' }]);
  });

  it('reads a JSON array of the same fields, streaming', async () => {
    const rows = [{ employeeId: 7, email: 'a@acme.example', firstName: 'A', lastName: 'B', status: 'active', team: 'Blue' }, { employeeId: '8', email: 'b@acme.example', firstName: 'C', lastName: 'D' }];
    const { pages } = await list(JSON.stringify(rows), 'json', 1);
    expect(pages).toHaveLength(2);
    expect(pages[0][0]).toMatchObject({ externalId: '7', attributes: { team: 'Blue' } });
  });

  it('fails the listing on truncated JSON', async () => {
    const text = JSON.stringify([{ employeeId: 1, email: 'a@acme.example', firstName: 'A', lastName: 'B' }, { employeeId: 2, email: 'b@acme.example', firstName: 'C', lastName: 'D' }]);
    await expect(list(text.slice(0, text.length - 20), 'json')).rejects.toMatchObject({ code: 'listing_failed' });
  });

  it('reports a missing file clearly', async () => {
    const config = fileOptionsSchema.parse({ path: join(dir, 'nope.csv') });
    await expect(fileConnector.checkConnection(config, { log: silentLogger, since: null, includeInactive: true, reject: () => {} })).rejects.toThrow(/no such file/);
  });

  it('streams: yields the first page before the export has been written to the end', async () => {
    // A named pipe: the rest of the "file" does not exist until the first page has arrived.
    const path = join(dir, 'pipe.csv');
    execFileSync('mkfifo', [path]);
    const row = (i: number) => `${i},p${i}@acme.example,First${i},Last${i},Engineer,Engineering,Berlin,,active,2024-01-01,\n`;
    const config = fileOptionsSchema.parse({ path, pageSize: 500 });
    const it = fileConnector.listEmployees(config, { log: silentLogger, since: null, includeInactive: true, reject: () => {} })[Symbol.asyncIterator]();
    const first = it.next();
    const writer = createWriteStream(path);
    writer.write(`${HEADER}\n`);
    for (let i = 0; i < 2_000; i++) writer.write(row(i));
    const page = await Promise.race([first, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5_000))]);
    expect(page).not.toBe('timeout');
    expect((page as IteratorResult<HrEmployee[]>).value).toHaveLength(500);
    for (let i = 2_000; i < 3_000; i++) writer.write(row(i));
    writer.end();
    let count = 500;
    for (let r = await it.next(); !r.done; r = await it.next()) count += r.value.length;
    expect(count).toBe(3_000);
  });
});
