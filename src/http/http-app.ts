import { access } from 'node:fs/promises';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppPaths } from '../config/app-config.js';
import { listLive2dModels } from '../assets/live2d-catalog.js';
import { landingPage } from './landing-page.js';
import { resolveInsideRoot } from './real-path.js';
import { checkHost, checkOrigin } from './origin-check.js';
import type { SessionBoard } from '../observability/session-board.js';
import type { WebToolAccess } from '../web-tool/web-tool-link.js';
import { mountWebToolRoutes } from './web-tool-routes.js';
import { mountMemoryRoutes, type MemoryAccess } from './memory-routes.js';
import { mountSessionsPage, type SessionsPageOptions } from './sessions-page.js';

export interface HttpAppOptions {
  paths: AppPaths;
  /** Live figures for `/healthz`. */
  health: () => Record<string, unknown>;
  /** Prometheus text for `/metrics`. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** The live sessions page. */
  sessions?: SessionsPageOptions;
  /** Which instance this is (system_config.cluster.instance_id or its default): every answer says it. */
  instanceId?: string;
  /** Host and Origin rules (system_config.allowed_hosts / allowed_origins). */
  access?: HttpAccess;
  /** The web tool actor, for `POST /asr` (without it the route answers 503). */
  webTool?: WebToolAccess;
  /** Long-term memory's search (`/memory/search`). */
  memory?: MemoryAccess;
}

export interface HttpAccess {
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
  /** Told about each refused request (logged by the listener). */
  onRefused?: (message: string) => void;
}

const AVATAR_EXT = /\.(jpe?g|png|gif|svg)$/i;

/** Paths of files any page may load (the web client loads models, backgrounds and avatars from another origin). */
const PUBLIC_ASSETS = /^\/(live2d-models|bg|avatars)(\/|$)/;

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Host and Origin rules for every route (the ones /client-ws has): a `Host` that is not this machine (DNS
 * rebinding) is refused everywhere. Public assets are readable by any page (`*`, never with credentials); other
 * routes (/sessions*, /metrics, …) refuse a browser `Origin` that may not open /client-ws, and reflect an allowed
 * one. No route allows credentials: this server sets no cookies.
 */
function hostAndOrigin(access: HttpAccess) {
  return (req: Request, res: Response, next: NextFunction) => {
    const host = checkHost(req.headers.host, access.allowedHosts);
    if (!host.ok) {
      access.onRefused?.(`refused ${req.method} ${req.path} from ${req.socket.remoteAddress}: ${host.reason}`);
      res.status(403).type('text/plain').send(`Forbidden: ${host.reason}`);
      return;
    }
    const origin = req.headers.origin;
    const publicAsset = PUBLIC_ASSETS.test(req.path);
    if (origin !== undefined && !publicAsset) {
      // The page's own origin is fine once its Host passed (an allowed_hosts domain serving the web client).
      const verdict = sameHost(origin, req.headers.host) ? ({ ok: true } as const) : checkOrigin(origin, req.headers.host, access.allowedOrigins);
      if (!verdict.ok) {
        access.onRefused?.(`refused ${req.method} ${req.path} from ${req.socket.remoteAddress}: ${verdict.reason}`);
        res.status(403).type('text/plain').send(`Forbidden: ${verdict.reason}`);
        return;
      }
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.vary('Origin');
    } else if (origin !== undefined) {
      res.setHeader('Access-Control-Allow-Origin', '*');
    }
    if (req.method === 'OPTIONS' && origin !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', publicAsset ? 'GET, OPTIONS' : 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? '*');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

/**
 * Static files as upstream serves them (`Access-Control-Allow-Origin: *`, `.js` as application/javascript),
 * never outside their folder: traversal segments, encoded separators and NUL bytes are refused before the
 * file system is touched, dot files are not served, and a file whose real path (symlinks resolved) is outside
 * the folder's real path is not found.
 */
function staticFolder(dir: string, filter?: (file: string) => boolean, index: string[] | false = false) {
  const serve = express.static(dir, {
    dotfiles: 'ignore',
    index,
    fallthrough: true,
    setHeaders(res, file) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Allow-Methods', 'GET, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', '*');
      if (file.endsWith('.js')) res.setHeader('Content-Type', 'application/javascript');
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    if (!isSafeRequestPath(req.path)) {
      res.status(400).type('text/plain').send('Bad path');
      return;
    }
    if (filter && !filter(req.path)) {
      res.status(403).type('text/plain').send('Forbidden file type');
      return;
    }
    // Symlinks are followed only while they stay inside the folder's real path (a model folder is a download).
    resolveInsideRoot(dir, decodeURIComponent(req.path), index || []).then(
      (verdict) => {
        if (verdict.kind === 'outside') {
          res.status(404).type('text/plain').send('Not found');
          return;
        }
        serve(req, res, next);
      },
      next,
    );
  };
}

/** True when a URL path (still percent-encoded) names a file strictly below the mount point. */
export function isSafeRequestPath(urlPath: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return false;
  }
  if (decoded.includes('\0') || decoded.includes('\\') || /%2f|%5c/i.test(urlPath)) return false;
  return !decoded.split('/').some((segment) => segment === '..' || segment === '.');
}

export function createHttpApp({ paths, health, metrics, sessions, access: rules, webTool, memory, instanceId }: HttpAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Behind a balancer, which instance answered.
  if (instanceId) app.use((_req, res, next) => (res.setHeader('x-vas-instance', instanceId), next()));
  app.use(hostAndOrigin(rules ?? { allowedHosts: [], allowedOrigins: [] }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...health() });
  });

  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      const { contentType, body } = await metrics();
      res.type(contentType).send(body);
    });
  }

  if (sessions) mountSessionsPage(app, sessions);
  if (memory) mountMemoryRoutes(app, memory);

  app.get('/live2d-models/info', async (_req, res) => {
    const characters = await listLive2dModels(paths.live2dModels);
    if (characters === null) {
      res.status(404).json({ error: 'Live2D models directory not found' });
      return;
    }
    res.json({ type: 'live2d-models/info', count: characters.length, characters });
  });

  // Open-LLM-VTuber-Web asks for its Live2D model before set-model-and-conf has named one (its model list is still
  // empty, so the path is built from `undefined`). There is no such file; "nothing here" without a 404 error.
  app.get('/undefined/undefined.model3.json', (_req, res) => {
    res.status(204).end();
  });
  app.use('/live2d-models', staticFolder(paths.live2dModels));
  app.use('/bg', staticFolder(paths.backgrounds));
  app.use('/avatars', staticFolder(paths.avatars, (file) => AVATAR_EXT.test(file)));

  // The web tool: `POST /asr`, its page (`web_tool/` beside `frontend/`), and the audio files of `/tts-ws`.
  const webToolDir = path.join(path.dirname(paths.frontend), 'web_tool');
  mountWebToolRoutes(app, { webToolDir, webTool });
  app.use('/web-tool', staticFolder(webToolDir, undefined, ['index.html']));
  app.use('/cache', staticFolder(paths.cache));

  // The user's client build, if there is one (checked per request: it may be added while the server runs).
  const frontendIndex = path.join(paths.frontend, 'index.html');
  const frontend = staticFolder(paths.frontend, undefined, ['index.html']);
  app.use('/', async (req, res, next) => {
    const hasFrontend = await access(frontendIndex).then(() => true, () => false);
    if (hasFrontend) return frontend(req, res, next);
    if (req.path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.type('html').send(landingPage(`${req.protocol}://${req.get('host') ?? 'localhost'}`));
      return;
    }
    next();
  });

  // Plain text: a JSON body for a missing image or script is what Chromium blocks as ERR_BLOCKED_BY_ORB.
  app.use((req, res) => {
    res.status(404).type('text/plain').send(`Not found: ${req.method} ${req.path}`);
  });
  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status && err.status < 500 ? err.status : 500).json({ error: err.message });
  });
  return app;
}
