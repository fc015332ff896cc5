import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/** Repositories take the database or an open transaction, so a use case can group their writes. */
export type Executor = Kysely<Database> | Transaction<Database>;
