import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { APPROVE, DECLINE } from '../support/terminal.js';
import { ROOT, spawnCloudpos } from '../simulator/process.js';

/** Runs examples/pos-backend.ts as an integrator would (through tsx), collecting its output. */
function runExample(args: string[], env: Record<string, string>) {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'examples/pos-backend.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => proc.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describeEachStore('examples/pos-backend.ts against a real server', (dialect) => {
  const ctx = usePlatform(dialect, { env: { LONG_POLL_MAX_S: '10' } });

  const listen = async () => {
    const { app } = ctx();
    if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
    return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  };

  it('creates a payment, waits while the simulated terminal pays, prints the receipt', async () => {
    const server = await listen();
    const c = await onboard(ctx().app);
    const terminal = spawnCloudpos(['terminal', 'run', '--server', server, '--card', APPROVE, '--once'], { CLOUDPOS_DEVICE_TOKEN: c.terminals[0]!.deviceToken });
    try {
      const run = await runExample(['--server', server, '--terminal', c.terminals[0]!.id, '--amount', '4.50', '--reference', 'example-1'], { CLOUDPOS_API_KEY: c.apiKey });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^payment \d{31} of 4\.5 EUR is on terminal SUNMI-P2lite-\w+: waiting for the card$/m);
      expect(run.stdout).toMatch(/^CLEARED APPROVED \(VISA, authorization \w+\)$/m);
      expect(run.stdout).toContain('PAYMENT ACCEPTED');
      expect(run.stdout).toMatch(/EUR\s+4\.50/);
      expect(await terminal.exit).toBe(0);
    } finally {
      terminal.proc.kill();
    }
  });

  it('exits 1 and says so when the card is declined', async () => {
    const server = await listen();
    const c = await onboard(ctx().app);
    const terminal = spawnCloudpos(['terminal', 'run', '--server', server, '--card', DECLINE, '--once'], { CLOUDPOS_DEVICE_TOKEN: c.terminals[0]!.deviceToken });
    try {
      const run = await runExample(['--server', server, '--terminal', c.terminals[0]!.id, '--amount', '7'], { CLOUDPOS_API_KEY: c.apiKey });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^CANCELLED DECLINED/m);
      expect(await terminal.exit).toBe(1);
    } finally {
      terminal.proc.kill();
    }
  });

  it('reports a refused API key with the problem detail', async () => {
    const server = await listen();
    const run = await runExample(['--server', server, '--terminal', 'SUNMI-P2lite-NOPE'], { CLOUDPOS_API_KEY: 'cpos_key_not-a-key' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^creating the payment: 403 /);
  });
});

describe('examples/pos-backend.ts without a key', () => {
  it('is a usage error', async () => {
    const run = await runExample([], { CLOUDPOS_API_KEY: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CLOUDPOS_API_KEY');
  });
});
