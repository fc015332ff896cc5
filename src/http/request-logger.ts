import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];
/** pino's logger, which Fastify makes */
type Leveled = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

/** A request's logger, made the first time the request logs at a level the server writes. Fastify
 * makes a child logger for every request, and most requests log nothing (at `warn`, the sandbox's
 * level, a poll never does): the child and its serialised bindings were made for every request,
 * and kept by a held poll for its whole wait. What is written is the same: the child, with the
 * request's bindings, writes every line. */
class RequestLogger {
  private made: Leveled | undefined;

  constructor(
    private readonly parent: Leveled,
    /** Fastify's one binding, the request's id under its label: kept apart rather than in
     * Fastify's object of it, which a held poll would keep for its whole wait. */
    private readonly label: string,
    private readonly id: unknown,
  ) {}

  private logger(): Leveled {
    return (this.made ??= this.parent.child({ [this.label]: this.id }) as Leveled);
  }

  private write(level: Level, args: unknown[]) {
    if (this.isLevelEnabled(level)) (this.logger()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.made?.level ?? this.parent.level;
  }
  set level(level: string) {
    this.logger().level = level;
  }

  fatal(...args: unknown[]) {
    this.write('fatal', args);
  }
  error(...args: unknown[]) {
    this.write('error', args);
  }
  warn(...args: unknown[]) {
    this.write('warn', args);
  }
  info(...args: unknown[]) {
    this.write('info', args);
  }
  debug(...args: unknown[]) {
    this.write('debug', args);
  }
  trace(...args: unknown[]) {
    this.write('trace', args);
  }
  silent() {}
  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.logger().child(bindings, options);
  }
  isLevelEnabled(level: string): boolean {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }
}

/** Fastify's `childLoggerFactory`: a request logger made on its first line. A route with a level
 * or serializers of its own gets its child at once, as Fastify would make it. */
export const requestLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) => {
  const parent = logger as Partial<Leveled>;
  let label: string | undefined;
  let labels = 0;
  for (const key in bindings) {
    label = key;
    if (++labels > 1) break;
  }
  if (labels !== 1 || options.level !== undefined || options.serializers !== undefined || typeof parent.isLevelEnabled !== 'function') return logger.child(bindings, options);
  return new RequestLogger(logger as Leveled, label!, bindings[label!]) as unknown as FastifyBaseLogger;
};
