import type { Kysely, Transaction } from 'kysely';
import type { Tables } from './schema.js';

/** Repositories take the database or an open transaction, so a use case can group their writes. */
export type Executor = Kysely<Tables> | Transaction<Tables>;
