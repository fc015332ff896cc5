import type { ErrorKind } from './errors.js';

/** Expected failures are values, not exceptions: a use case returns one of these and only the
 * route layer turns an error kind into HTTP (see src/http/problem.ts). */
export type Ok<T> = { ok: true; value: T };
export type Err<E extends ErrorKind> = { ok: false; error: E; detail: string };
export type Result<T, E extends ErrorKind> = Ok<T> | Err<E>;

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });
export const err = <E extends ErrorKind>(error: E, detail: string): Err<E> => ({ ok: false, error, detail });
