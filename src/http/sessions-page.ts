import net from 'node:net';
import type { Express, Request, Response } from 'express';
import type { SessionBoard } from '../observability/session-board.js';

/** Requests from this machine only, unless the user opened the page to the network (system_config.sessions_page_public). */
export function mayViewSessions(remoteAddress: string | undefined, isPublic: boolean): boolean {
  if (isPublic) return true;
  const address = (remoteAddress ?? '').replace(/^::ffff:/, '');
  return address === '::1' || (net.isIPv4(address) && address.startsWith('127.'));
}

/**
 * `/sessions`: every connected session, its state, children, character, turn count, last turn latency and tool
 * servers (its own, per_session, apart from shared ones), and the tool servers shared by all sessions, updated
 * live over server-sent events (`/sessions/events`) from the inspection stream, with the session machine drawn and
 * each session's active states highlighted (from `/sessions/machine.json`).
 */
export interface SessionsPageOptions {
  board: SessionBoard;
  sessionMachineJson: unknown;
  isPublic: boolean;
  instanceId: string;
  /** With system_config.cluster: every live instance's census, read from Redis (fails with code cluster_unavailable). */
  instances?: () => Promise<unknown[]>;
  /** With system_config.cluster: every chat group's record (its instance, owner and members), read from Redis. */
  groups?: () => Promise<unknown[]>;
}

export function mountSessionsPage(app: Express, options: SessionsPageOptions): void {
  const guard = (req: Request, res: Response) => {
    if (mayViewSessions(req.socket.remoteAddress, options.isPublic)) return true;
    res.status(403).type('text/plain').send('The sessions page is only served to this machine (set system_config.sessions_page_public to change that)');
    return false;
  };

  app.get('/sessions', (req, res) => {
    if (guard(req, res)) res.type('html').send(SESSIONS_HTML);
  });

  // Every instance's sessions (each instance's census in Redis); one instance's own without a cluster.
  app.get('/sessions/instances', async (req, res) => {
    if (!guard(req, res)) return;
    if (!options.instances) {
      res.json({ instance_id: options.instanceId, instances: [{ instance_id: options.instanceId, url: null, updated_at: new Date().toISOString(), sessions: options.board.views() }] });
      return;
    }
    try {
      res.json({ instance_id: options.instanceId, instances: await options.instances(), ...(options.groups ? { groups: await options.groups() } : {}) });
    } catch (err) {
      const code = (err as { code?: unknown }).code === 'cluster_unavailable' ? 'cluster_unavailable' : 'cluster_error';
      res.status(503).json({ error: `The other instances cannot be listed now: ${(err as Error).message}; this instance's sessions are at /sessions`, code });
    }
  });

  app.get('/sessions/machine.json', (req, res) => {
    if (guard(req, res)) res.json(options.sessionMachineJson);
  });

  app.get('/sessions/events', (req, res) => {
    if (!guard(req, res)) return;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let pending = false;
    const push = () => {
      if (pending) return;
      pending = true;
      // Many inspection events arrive in one tick: send the board once, after them.
      queueMicrotask(() => {
        pending = false;
        if (res.writableEnded) return;
        res.write(`event: sessions\ndata: ${JSON.stringify(options.board.views())}\n\n`);
        res.write(`event: tool-servers\ndata: ${JSON.stringify(options.board.toolServers())}\n\n`);
      });
    };
    const unsubscribe = options.board.subscribe(push);
    req.on('close', unsubscribe);
    push();
  });
}

const SESSIONS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sessions — vtuber-actor-server</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
h1{font-size:1.3rem} .empty{color:#777}
.session{border:1px solid #ccc;border-radius:8px;padding:.75rem;margin:.75rem 0}
.meta span{margin-right:1.2rem} .uid{font-family:monospace}
.state{font-weight:bold;color:#0a5}
.children,.tools{font-family:monospace;font-size:12px;color:#555;margin:.3rem 0}
.machine{display:flex;gap:.4rem;flex-wrap:wrap;margin-top:.4rem}
.node{border:1px solid #bbb;border-radius:6px;padding:.2rem .45rem;font-size:12px;background:#fafafa}
.node .node{margin:.2rem 0 0 .2rem;display:inline-block}
.node.active{border-color:#0a5;background:#e3f9ec;box-shadow:0 0 0 2px #0a5 inset}
</style></head>
<body>
<h1>Sessions <small id="count"></small></h1>
<p class="empty">On instance <b id="instance"></b> (every HTTP answer says which, in <code>x-vas-instance</code>).</p>
<p class="empty" id="empty">No session is connected.</p>
<div id="sessions"></div>
<h2>Shared tool servers <small id="shared-count"></small></h2>
<p class="empty" id="no-shared">None running (a shared MCP server starts on its first call and stops when idle).</p>
<ul id="shared"></ul>
<h2>Every instance <small id="instance-count"></small></h2>
<p class="empty" id="instances-error" hidden></p>
<ul id="instances"></ul>
<script>
let machine = null;
function drawNode(key, node, path, active) {
  const el = document.createElement('div');
  el.className = 'node' + (active.includes(path) ? ' active' : '');
  el.dataset.path = path;
  el.append(key);
  for (const [k, child] of Object.entries(node.states || {})) el.append(drawNode(k, child, path + '.' + k, active));
  return el;
}
function render(sessions) {
  document.getElementById('count').textContent = '(' + sessions.length + ')';
  document.getElementById('empty').hidden = sessions.length > 0;
  const root = document.getElementById('sessions');
  root.replaceChildren(...sessions.map((s) => {
    const box = document.createElement('div');
    box.className = 'session';
    box.dataset.uid = s.clientUid;
    box.dataset.state = s.state;
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.innerHTML = '<span class="uid"></span><span>state <b class="state"></b></span><span class="character"></span><span class="turns"></span><span class="latency"></span>';
    meta.querySelector('.uid').textContent = s.clientUid;
    meta.querySelector('.state').textContent = s.state;
    meta.querySelector('.character').textContent = 'character ' + (s.character ?? '—');
    meta.querySelector('.turns').textContent = 'turns ' + s.turns;
    meta.querySelector('.latency').textContent = 'last turn ' + (s.lastTurnMs === null ? '—' : s.lastTurnMs + ' ms to first audio');
    const children = document.createElement('div');
    children.className = 'children';
    children.textContent = 'children: ' + (s.children.map((c) => c.id + ' (' + c.kind + ')').join(', ') || 'none');
    const tools = document.createElement('div');
    tools.className = 'tools';
    tools.textContent = 'tool servers: ' + (s.toolServers.map((t) => t.name + ' (' + (t.scope === 'shared' ? 'shared' : 'per-session process') + ')').join(', ') || 'none');
    const drawing = document.createElement('div');
    drawing.className = 'machine';
    if (machine) for (const [k, node] of Object.entries(machine.states)) drawing.append(drawNode(k, node, k, s.activePaths));
    box.append(meta, children, tools, drawing);
    return box;
  }));
}
fetch('/sessions/machine.json').then((r) => r.json()).then((m) => { machine = m; });
let last = [];
function renderShared(servers) {
  document.getElementById('shared-count').textContent = '(' + servers.length + ')';
  document.getElementById('no-shared').hidden = servers.length > 0;
  document.getElementById('shared').replaceChildren(...servers.map((t) => {
    const li = document.createElement('li');
    li.textContent = t.name + ' — ' + t.state + ', ' + t.calls + ' call(s) in flight';
    return li;
  }));
}
// Every instance's sessions, from their census (system_config.cluster; this one's alone without), every 2 s.
function renderInstances(res, body) {
  const error = document.getElementById('instances-error');
  error.hidden = res.ok;
  if (!res.ok) { error.textContent = body.error + ' (' + body.code + ')'; return; }
  document.getElementById('instance').textContent = body.instance_id;
  document.getElementById('instance-count').textContent = '(' + body.instances.length + ')';
  document.getElementById('instances').replaceChildren(...body.instances.map((i) => {
    const li = document.createElement('li');
    li.dataset.instance = i.instance_id;
    li.textContent = i.instance_id + ' — ' + i.sessions.length + ' session(s)' + (i.url ? ' at ' + i.url : '') + ', as of ' + i.updated_at;
    return li;
  }));
}
function pollInstances() {
  fetch('/sessions/instances').then((r) => r.json().then((b) => renderInstances(r, b))).catch(() => undefined).finally(() => setTimeout(pollInstances, 2000));
}
pollInstances();
const events = new EventSource('/sessions/events');
events.addEventListener('sessions', (e) => { last = JSON.parse(e.data); render(last); });
events.addEventListener('tool-servers', (e) => renderShared(JSON.parse(e.data)));
</script>
</body></html>`;
