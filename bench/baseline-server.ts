/** The baseline the platform is measured against: a bare Fastify app of the same version,
 * spawned the same way as the platform, answering a small JSON document (`GET /ping`) and doing
 * one durable single-row INSERT through the same driver as the platform (`POST /insert`):
 * better-sqlite3 in WAL with synchronous=FULL, or pg with synchronous_commit on. */
import SQLite from 'better-sqlite3';
import Fastify from 'fastify';
import pg from 'pg';
import { randomBytes } from 'node:crypto';

const url = process.env.DATABASE_URL ?? '';
const app = Fastify({ logger: false });

let insert: (id: string, terminal: number, payload: string, at: number) => Promise<void> | void = () => {};
let close = async () => {};

if (url.startsWith('sqlite:')) {
  const db = new SQLite(url.slice('sqlite:'.length));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS bench_rows (id TEXT PRIMARY KEY, terminal_id BIGINT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL)');
  const stmt = db.prepare('INSERT INTO bench_rows (id, terminal_id, payload, created_at) VALUES (?, ?, ?, ?)');
  insert = (id, terminal, payload, at) => void stmt.run(id, terminal, payload, at);
  close = async () => {
    db.close();
  };
} else if (url.startsWith('postgres')) {
  // The platform's pool size (store/database.ts) and synchronous_commit at its default, on.
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  await pool.query('CREATE TABLE IF NOT EXISTS bench_rows (id TEXT PRIMARY KEY, terminal_id BIGINT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL)');
  const { rows } = await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
  if (rows[0]?.synchronous_commit !== 'on') throw new Error(`synchronous_commit is ${rows[0]?.synchronous_commit}, not on`);
  insert = async (id, terminal, payload, at) => {
    await pool.query('INSERT INTO bench_rows (id, terminal_id, payload, created_at) VALUES ($1, $2, $3, $4)', [id, terminal, payload, at]);
  };
  close = () => pool.end();
}

app.get('/ping', async () => ({ status: 'ok', id: '5456485215432746823746654987115', amount: { value: 12.34, currency: 'EUR' } }));

// Holds a request like a long poll with nothing to deliver: the fleet scenario's memory baseline.
app.get('/device/v1/transactions/next', async (request, reply) => {
  const wait = Math.min(Number((request.query as { wait?: string }).wait ?? 0), 30);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, wait * 1000);
    reply.raw.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return reply.code(204).send();
});

app.post('/insert', async (request, reply) => {
  const id = randomBytes(12).toString('hex');
  await insert(id, 1, JSON.stringify(request.body), Date.now());
  return reply.code(201).send({ id });
});

await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`baseline listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`);

const stop = async () => {
  await app.close();
  await close();
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
