import { EntitySchema } from '@mikro-orm/core';

/**
 * The store's entities, in one place. Foreign keys are plain scalar ids: the sync engine
 * and the list queries work set-based in SQL, and the ORM handles single-row work.
 */
export interface Organization {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface Connector {
  id: string;
  organizationId: string;
  type: string;
  lastRunId: string | null;
  lastSyncAt: Date | null;
  lastFullSyncAt: Date | null;
  checkpoint: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type UserStatus = 'active' | 'deactivated';
export type UserAccess = 'none' | 'invited' | 'active';

export interface User {
  id: string;
  seq: number;
  organizationId: string;
  email: string | null;
  externalId: string | null;
  connectorId: string | null;
  source: 'sync' | 'manual';
  firstName: string | null;
  lastName: string | null;
  jobTitle: string | null;
  locationId: string | null;
  managerId: string | null;
  managerExternalId: string | null;
  roles: string[];
  attributes: Record<string, string | null>;
  status: UserStatus;
  deactivatedBy: 'sync' | 'admin' | null;
  deactivatedAt: Date | null;
  access: UserAccess;
  startDate: string | null;
  endDate: string | null;
  contentHash: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type SyncRunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'needs_approval' | 'approved' | 'rejected' | 'skipped';

export interface SyncCounts {
  seen: number;
  created: number;
  updated: number;
  unchanged: number;
  deactivated: number;
  reactivated: number;
  rejected: number;
  skipped: number;
  heldDeactivations: number;
  /** Absent from a complete listing, looked up by id at the HR system and found there, active: not deactivated. */
  confirmedPresent: number;
}

export interface SyncRun {
  id: string;
  organizationId: string;
  connectorId: string;
  trigger: 'manual' | 'schedule' | 'api';
  dryRun: boolean;
  mode: 'full' | 'incremental';
  status: SyncRunStatus;
  counts: SyncCounts;
  examples: Record<string, unknown> | null;
  error: string | null;
  heldReason: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  approvedAt: Date | null;
  approvedBy: string | null;
}

const timestamps = {
  createdAt: { type: 'Date', onCreate: () => new Date() },
  updatedAt: { type: 'Date', onCreate: () => new Date(), onUpdate: () => new Date() },
} as const;

export const OrganizationSchema = new EntitySchema<Organization>({
  name: 'Organization',
  tableName: 'organizations',
  properties: {
    id: { type: 'string', primary: true },
    name: { type: 'string' },
    ...timestamps,
  },
});

export const ConnectorSchema = new EntitySchema<Connector>({
  name: 'Connector',
  tableName: 'connectors',
  properties: {
    id: { type: 'string', primary: true },
    organizationId: { type: 'string' },
    type: { type: 'string' },
    lastRunId: { type: 'uuid', nullable: true },
    lastSyncAt: { type: 'Date', nullable: true },
    lastFullSyncAt: { type: 'Date', nullable: true },
    checkpoint: { type: 'string', nullable: true },
    ...timestamps,
  },
});

export const UserSchema = new EntitySchema<User>({
  name: 'User',
  tableName: 'users',
  properties: {
    id: { type: 'uuid', primary: true, defaultRaw: 'gen_random_uuid()' },
    seq: { type: 'number', persist: false },
    organizationId: { type: 'string' },
    email: { type: 'string', nullable: true },
    externalId: { type: 'string', nullable: true },
    connectorId: { type: 'string', nullable: true },
    source: { type: 'string', default: 'manual' },
    firstName: { type: 'string', nullable: true },
    lastName: { type: 'string', nullable: true },
    jobTitle: { type: 'string', nullable: true },
    locationId: { type: 'uuid', nullable: true },
    managerId: { type: 'uuid', nullable: true },
    managerExternalId: { type: 'string', nullable: true },
    roles: { type: 'json', default: '[]' },
    attributes: { type: 'json', default: '{}' },
    status: { type: 'string', default: 'active' },
    deactivatedBy: { type: 'string', nullable: true },
    deactivatedAt: { type: 'Date', nullable: true },
    access: { type: 'string', default: 'none' },
    startDate: { type: 'string', columnType: 'date', nullable: true },
    endDate: { type: 'string', columnType: 'date', nullable: true },
    contentHash: { type: 'string', nullable: true },
    ...timestamps,
  },
});

export const SyncRunSchema = new EntitySchema<SyncRun>({
  name: 'SyncRun',
  tableName: 'sync_runs',
  properties: {
    id: { type: 'uuid', primary: true },
    organizationId: { type: 'string' },
    connectorId: { type: 'string' },
    trigger: { type: 'string' },
    dryRun: { type: 'boolean' },
    mode: { type: 'string' },
    status: { type: 'string' },
    counts: { type: 'json' },
    examples: { type: 'json', nullable: true },
    error: { type: 'string', nullable: true },
    heldReason: { type: 'string', nullable: true },
    startedAt: { type: 'Date' },
    finishedAt: { type: 'Date', nullable: true },
    approvedAt: { type: 'Date', nullable: true },
    approvedBy: { type: 'string', nullable: true },
  },
});

export const entities = [OrganizationSchema, ConnectorSchema, UserSchema, SyncRunSchema];
