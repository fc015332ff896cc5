/**
 * A sandbox lets a terminal be simulated without its device token (which only the operator saw):
 * with its customer's API key, the platform opens a simulator session for one of that customer's
 * terminals, as it does for the browser screen. The session works only under
 * /simulator/api/device, and only with the same key beside it.
 */

export interface SandboxSession {
  token: string;
  devicePath: string;
  /** sent with every device call: the session belongs to this key's customer */
  headers: Record<string, string>;
  terminalId: string;
}

const NO_TOKEN = '--token is required (the device token issued when the terminal was registered)';

async function detailOf(res: Response): Promise<string> {
  const body = (await res.json().catch(() => ({}))) as { detail?: unknown };
  return typeof body.detail === 'string' ? body.detail : res.statusText;
}

/** Opens a session for `wanted`, or for the customer's only terminal; a string says why not. */
export async function sandboxSession(server: string, apiKey: string | undefined, wanted?: string): Promise<SandboxSession | string> {
  if (!apiKey) {
    return `${NO_TOKEN}; against a sandbox, --api-key (or CLOUDPOS_API_KEY) instead acts as one of that customer's terminals through a simulator session`;
  }
  const base = server.replace(/\/+$/, '');
  const headers = { 'api-key': apiKey };
  try {
    const list = await fetch(`${base}/simulator/api/terminals`, { headers, signal: AbortSignal.timeout(10_000) });
    if (list.status === 404) return `${NO_TOKEN}: ${server} is not a sandbox, so it opens no simulator sessions`;
    if (list.status === 401 || list.status === 403) return `--api-key was refused by ${server}: ${list.status} ${await detailOf(list)}`;
    if (!list.ok) return `${NO_TOKEN}: ${server} answered ${list.status}`;
    const terminals = (await list.json()) as Array<{ id: string }>;
    const chosen = wanted ?? (terminals.length === 1 ? terminals[0]!.id : undefined);
    if (!chosen) return `${NO_TOKEN}, or --terminal ID to pick one of this customer's terminals: ${terminals.map((t) => t.id).join(', ') || '(none registered)'}`;
    const res = await fetch(`${base}/simulator/api/sessions`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ terminal: chosen }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) return `no simulator session for terminal ${chosen}: ${res.status} ${await detailOf(res)}`;
    const body = (await res.json()) as { token: string; terminal: { id: string } };
    return { token: body.token, devicePath: '/simulator/api/device', headers, terminalId: body.terminal.id };
  } catch (e) {
    return `${NO_TOKEN}: ${server} cannot be reached (${(e as Error).message})`;
  }
}
