import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';

export type Method = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
export type Response = LightMyRequestResponse;

/** Calls the MerchantAPI the way a customer system does: with an API-Key header. */
export function merchantApi(app: FastifyInstance, apiKey?: string) {
  return (method: Method, url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    app.inject({
      method,
      url,
      headers: { ...(apiKey !== undefined && { 'API-Key': apiKey }), ...headers },
      ...(payload !== undefined && { payload: payload as InjectOptions['payload'] }),
    } as InjectOptions);
}

export function isProblem(res: Response): boolean {
  return /^application\/problem\+json/.test(String(res.headers['content-type']));
}
