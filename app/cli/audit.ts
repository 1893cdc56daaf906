import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { logDirectory } from '../../config/logDir';
import { type AuditFields, auditLine } from '../core/audit';

const PROJECT_ROOT = path.join(__dirname, '../..');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const APP_NAME: string = require(path.join(PROJECT_ROOT, 'package.json')).name;

/** Appends an `admin` line to the app's audit log (the same file the server writes). */
export function auditAdminChange(action: string, fields: AuditFields = {}): void {
  const dir = logDirectory(PROJECT_ROOT, APP_NAME);
  mkdirSync(dir, { recursive: true });
  appendFileSync(path.join(dir, 'audit.log'), `${auditLine('admin', { action, operator: process.env.USER ?? null, ...fields })}\n`);
}
