import { access } from 'node:fs/promises';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppPaths } from '../config/app-config.js';
import { listLive2dModels } from '../assets/live2d-catalog.js';
import { landingPage } from './landing-page.js';
import { mountSessionsPage } from './sessions-page.js';
import type { SessionBoard } from '../observability/session-board.js';

export interface HttpAppOptions {
  paths: AppPaths;
  /** Live figures for `/healthz`. */
  health: () => Record<string, unknown>;
  /** Prometheus text for `/metrics`. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** The live sessions page. */
  sessions?: { board: SessionBoard; sessionMachineJson: unknown; isPublic: boolean };
}

const AVATAR_EXT = /\.(jpe?g|png|gif|svg)$/i;

/** Any origin, any method, any header, credentials allowed: upstream's global CORS middleware. */
function cors(req: Request, res: Response, next: NextFunction) {
  const origin = req.headers.origin;
  res.setHeader('Access-Control-Allow-Origin', origin ?? '*');
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.vary('Origin');
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', req.headers['access-control-request-method'] ?? 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? '*');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(200).end();
    return;
  }
  next();
}

/**
 * Static files as upstream serves them (`Access-Control-Allow-Origin: *`, `.js` as application/javascript),
 * never outside their folder: traversal segments, encoded separators and NUL bytes are refused before the
 * file system is touched, and dot files are not served.
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
    serve(req, res, next);
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

export function createHttpApp({ paths, health, metrics, sessions }: HttpAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(cors);

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
