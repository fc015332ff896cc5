import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, ExitError } from './exit-codes.js';
import { MIGRATE_USAGE, SERVE_USAGE, USAGE } from './cli/usage.js';
import { packageRoot } from './package-root.js';

// Everything else is imported by the command that needs it: `--version` and `--help` load no
// server, no database driver and no configuration schema, and answer at once.

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const io: Io = { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) };

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** `--help` or `-h` anywhere before a `--`. */
function asksForHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** A command that takes no arguments but `--json`: anything else is a usage error. */
function noArguments(argv: string[], usage: string, allowed: string[] = []): string | undefined {
  const extra = argv.filter((a) => !allowed.includes(a));
  return extra.length > 0 ? `unexpected argument "${extra[0]}"\n\n${usage}` : undefined;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    io.out(`cloudpos ${version()}`);
    return EXIT.OK;
  }
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    // `cloudpos help serve` is `cloudpos serve --help`
    if (command === 'help' && rest[0] !== undefined) return main([...rest, '--help']);
    (command === undefined ? io.err : io.out)(USAGE);
    return command === undefined ? EXIT.USAGE : EXIT.OK;
  }
  try {
    switch (command) {
      case 'serve': {
        if (asksForHelp(rest)) return (io.out(SERVE_USAGE), EXIT.OK);
        const wrong = noArguments(rest, SERVE_USAGE);
        if (wrong) return (io.err(wrong), EXIT.USAGE);
        const [{ loadConfig }, { serve }] = await Promise.all([import('./config.js'), import('./server.js')]);
        await serve(loadConfig(), io);
        return EXIT.OK;
      }
      case 'migrate': {
        if (asksForHelp(rest)) return (io.out(MIGRATE_USAGE), EXIT.OK);
        const wrong = noArguments(rest, MIGRATE_USAGE, ['--json']);
        if (wrong) return (io.err(wrong), EXIT.USAGE);
        const [{ loadConfig }, { runMigrate }] = await Promise.all([import('./config.js'), import('./cli/migrate.js')]);
        return await runMigrate({ json: rest.includes('--json') }, loadConfig(), io);
      }
      case 'admin': {
        const { runAdmin } = await import('./cli/admin.js');
        return await runAdmin(rest, async () => (await import('./config.js')).loadConfig(), io);
      }
      case 'acquirer': {
        const { runAcquirerCommand } = await import('./cli/acquirer-check.js');
        return await runAcquirerCommand(rest, io);
      }
      case 'terminal': {
        const { runTerminalCommand } = await import('./simulator/terminal-cli.js');
        return await runTerminalCommand(rest, { ...io, color: process.stdout.isTTY === true && !process.env.NO_COLOR });
      }
      default:
        io.err(`unknown command "${command}"\n\n${USAGE}`);
        return EXIT.USAGE;
    }
  } catch (e) {
    // Expected failures (a bad setting, a busy port, a database that does not answer) are one
    // line and their exit code; anything else is a bug, and its stack helps whoever reports it.
    if (e instanceof ExitError) {
      io.err(e.message);
      return e.exitCode;
    }
    io.err(`cloudpos: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return EXIT.SOFTWARE;
  }
}
