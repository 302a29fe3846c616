import { access as fileAccess } from 'node:fs/promises';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { TranscribeOutcome } from '../../machines/web-tool-contract.js';
import { readRecordingUpload } from '../web-tool/recording-upload.js';
import type { WebToolAccess } from '../web-tool/web-tool-link.js';

/** The largest `POST /asr` body: 16 MiB, about 8 minutes of 16-bit 16 kHz mono. */
export const MAX_ASR_UPLOAD_BYTES = 16 * 1024 * 1024;

/**
 * Uploads being read or transcribed at once: each may hold 16 MB (and its copies while it is read) before the web
 * tool's own queue (2 running, 4 waiting) sees it, so more are refused before their bodies are read.
 */
export const MAX_ASR_UPLOADS = 8;

const MULTIPART = 'Send the recording as multipart/form-data with the WAV file in a field named "file".';

const STATUS: Record<Exclude<TranscribeOutcome['kind'], 'text'>, number> = { busy: 503, unavailable: 503, failed: 500, timeout: 504 };

function fail(res: Response, status: number, error: string): void {
  res.status(status).json({ error });
}

/** The `file` field of a multipart body, or what is wrong with the request. */
async function uploadedFile(contentType: string | undefined, body: unknown): Promise<{ ok: true; bytes: Buffer } | { ok: false; message: string }> {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType) || !Buffer.isBuffer(body)) {
    return { ok: false, message: `The request is not a form upload. ${MULTIPART}` };
  }
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
  } catch {
    return { ok: false, message: `The form data cannot be read. ${MULTIPART}` };
  }
  const file = form.get('file');
  if (!(file instanceof Blob)) return { ok: false, message: `The form has no file in a field named "file". ${MULTIPART}` };
  return { ok: true, bytes: Buffer.from(await file.arrayBuffer()) };
}

/**
 * The web tool's HTTP routes, in upstream's shapes: `POST /asr` (a WAV recording in the multipart field `file` →
 * `{"text"}`, or `{"error"}` with 400 for a file that cannot be read, 413 for one over the size bound, 503 when the
 * recogniser is busy or missing, 504 when it outlasts its deadline, 500 when it fails), and `GET /web-tool` /
 * `GET /web_tool`, a redirect to the web tool page when one is installed (`web_tool/` beside `frontend/`), else a
 * plain 404. The recording is read here, at the edge; the transcription is the web tool actor's.
 */
export function mountWebToolRoutes(app: express.Express, options: { webToolDir: string; webTool?: WebToolAccess }): void {
  const index = path.join(options.webToolDir, 'index.html');
  app.get(['/web-tool', '/web_tool'], async (req, res) => {
    if (await fileAccess(index).then(() => true, () => false)) res.redirect(302, '/web-tool/index.html');
    else res.status(404).type('text/plain').send(`Not found: ${req.method} ${req.path} (no web tool page is installed: put it in ${options.webToolDir})`);
  });

  let uploads = 0;
  app.post(
    '/asr',
    (_req: Request, res: Response, next: NextFunction) => {
      if (uploads >= MAX_ASR_UPLOADS) {
        res.setHeader('Retry-After', '5');
        return fail(res, 503, `${MAX_ASR_UPLOADS} recordings are being received or transcribed; try again shortly`);
      }
      uploads++;
      res.once('close', () => uploads--);
      next();
    },
    express.raw({ type: () => true, limit: MAX_ASR_UPLOAD_BYTES }),
    async (req: Request, res: Response) => {
      const { webTool } = options;
      if (!webTool) return fail(res, 503, 'speech recognition is not served here');
      const upload = await uploadedFile(req.headers['content-type'], req.body);
      if (!upload.ok) return fail(res, 400, upload.message);
      const recording = readRecordingUpload(upload.bytes);
      if (!recording.ok) return fail(res, 400, recording.message);
      // The asker going away withdraws the request: a waiting one is dropped, a running one stopped.
      const withdrawn = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) withdrawn.abort();
      });
      const outcome = await webTool.transcribe(recording.samples, withdrawn.signal);
      if (withdrawn.signal.aborted) return;
      if (outcome.kind === 'text') {
        res.json({ text: outcome.text });
        return;
      }
      if (outcome.kind === 'busy') res.setHeader('Retry-After', '5');
      fail(res, STATUS[outcome.kind], outcome.message);
    },
    (err: Error & { type?: string; status?: number }, _req: Request, res: Response, _next: NextFunction) => {
      if (err.type === 'entity.too.large') {
        const mb = MAX_ASR_UPLOAD_BYTES / (1024 * 1024);
        return fail(res, 413, `The upload is larger than ${mb} MB. Send a shorter recording (${mb} MB of 16-bit 16 kHz mono is about 8 minutes).`);
      }
      fail(res, err.status && err.status < 500 ? err.status : 500, err.message);
    },
  );
}
