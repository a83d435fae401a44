// Moving users in and out: the import use case, the export, and what they need of the store.
export * from './records.ts';
export type { ImportSink, ImportBatch, PlannedUser, PlannedClient } from './import-sink.ts';
export { importRecords, type ImportOptions } from './import-users.ts';
export { exportTenant, type ExportSource, type ExportRecord, type ExportedUser } from './export-tenant.ts';
export { describeHash, keycloakArgon2Phc } from '../credentials/imported-hashes.ts';
