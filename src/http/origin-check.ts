import os from 'node:os';
import net from 'node:net';

export type OriginVerdict = { ok: true } | { ok: false; reason: string };

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isLoopbackHost(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '');
  return LOOPBACK_NAMES.has(hostname) || bare.endsWith('.localhost') || (net.isIPv4(bare) && bare.startsWith('127.')) || bare === '::1';
}

/** Names a browser may legitimately use for this machine when the UI is served by us (not a DNS-rebindable domain). */
function isMachineName(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(bare) !== 0) return true;
  const me = os.hostname().toLowerCase();
  return isLoopbackHost(hostname) || bare === me || bare === `${me}.local`;
}

/**
 * Who may open `/client-ws` from a browser. A page on another site must not be able to drive a user's companion
 * (and, later, its tools), so a browser `Origin` is accepted only when it is:
 *  - absent (not a browser: native clients, scripts, the proxy) or `null` (the Electron app's `file://` page);
 *  - a loopback origin (`http://localhost:*`, `http://127.x.x.x:*`, `http://[::1]:*`; also the Vite dev server);
 *  - the page's own origin (served by this server), when the host is an IP address or this machine's name
 *    (a domain name could be DNS-rebound to us, so domains must be listed explicitly);
 *  - listed in `system_config.allowed_origins` (exact origins, or `*` to allow every origin).
 */
export function checkOrigin(origin: string | undefined, hostHeader: string | undefined, allowed: readonly string[]): OriginVerdict {
  if (origin === undefined || origin === '' || origin === 'null' || origin.startsWith('file://')) return { ok: true };
  if (allowed.includes('*')) return { ok: true };
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return { ok: false, reason: `malformed Origin header "${origin}"` };
  }
  const normalized = url.origin.toLowerCase();
  if (allowed.some((a) => a.replace(/\/+$/, '').toLowerCase() === normalized)) return { ok: true };
  if (isLoopbackHost(url.hostname.toLowerCase())) return { ok: true };
  if (hostHeader && url.host.toLowerCase() === hostHeader.toLowerCase() && isMachineName(url.hostname.toLowerCase())) {
    return { ok: true };
  }
  return {
    ok: false,
    reason: `origin ${normalized} is not allowed; add it to system_config.allowed_origins in conf.yaml if you trust it`,
  };
}

/**
 * Whether a request's `Host` names this server: absent (not a browser), a loopback name, an IP address, this
 * machine's name, or one of `allowed` (host names, with or without port; `*` allows any). A domain name that is none
 * of these is how a DNS-rebinding page reaches a loopback server, so it is refused on every route.
 */
export function checkHost(hostHeader: string | undefined, allowed: readonly string[]): OriginVerdict {
  if (hostHeader === undefined || hostHeader === '') return { ok: true };
  if (allowed.includes('*')) return { ok: true };
  let url: URL;
  try {
    url = new URL(`http://${hostHeader}`);
  } catch {
    return { ok: false, reason: `malformed Host header "${hostHeader}"` };
  }
  const hostname = url.hostname.toLowerCase();
  if (isMachineName(hostname)) return { ok: true };
  const host = url.host.toLowerCase();
  if (allowed.some((a) => a.toLowerCase() === hostname || a.toLowerCase() === host)) return { ok: true };
  return { ok: false, reason: `host "${hostname}" is not this machine; add it to system_config.allowed_hosts in conf.yaml if it is` };
}
