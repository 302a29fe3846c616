import path from 'node:path';
import { z } from 'zod';
import {
  callService,
  decodeServiceAudio,
  readBody,
  readServiceEvents,
  SpeechServiceError,
  withDeadline,
  DEFAULT_SPEECH_TIMEOUT_MS,
  httpUrl,
  type HttpEngineOptions,
} from './http-synthesis.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

const SAMPLE_WAV = 'https://github.com/gradio-app/gradio/raw/main/test/test_files/audio_sample.wav';

export const cosyvoice2Schema = z.looseObject({
  client_url: httpUrl('http://127.0.0.1:50000/'),
  mode_checkbox_group: z.string().default('预训练音色'),
  sft_dropdown: z.string().default('中文女'),
  prompt_text: z.string().default(''),
  prompt_wav_upload_url: z.string().default(SAMPLE_WAV),
  prompt_wav_record_url: z.string().default(SAMPLE_WAV),
  instruct_text: z.string().default(''),
  stream: z.boolean().default(false),
  seed: z.number().int().default(0),
  speed: z.number().default(1),
  api_name: z.string().min(1).default('/generate_audio'),
});

/** A file input of a Gradio endpoint given by URL (what gradio_client's `handle_file(url)` sends). */
const fileByUrl = (url: string) =>
  url ? { path: url, url, orig_name: path.posix.basename(new URL(url, 'http://x/').pathname), meta: { _type: 'gradio.FileData' } } : null;

interface GradioFile {
  url?: string | null;
  path?: string;
}

/**
 * CosyVoice's web UI through Gradio's HTTP API, with upstream's inputs in the order of its `generate_audio`:
 * `POST <client_url>/gradio_api/call/<api_name>` → `event_id`; `GET …/<event_id>` streams events until
 * `complete` (the audio file) or `error`; then the file is fetched.
 */
export function cosyvoice2TtsEngine(c: z.output<typeof cosyvoice2Schema>, options: HttpEngineOptions = {}): TtsEngine {
  const base = c.client_url.replace(/\/+$/, '');
  const callUrl = `${base}/gradio_api/call/${c.api_name.replace(/^\/+/, '')}`;
  const engine = 'cosyvoice2_tts';
  return {
    provider: engine,
    async synthesize(text, signal) {
      const bytes = await withDeadline(engine, signal, options.timeoutMs ?? DEFAULT_SPEECH_TIMEOUT_MS, async (bounded) => {
        const submitted = await callService(
          engine,
          {
            url: callUrl,
            json: {
              data: [
                text,
                c.mode_checkbox_group,
                c.sft_dropdown,
                c.prompt_text,
                fileByUrl(c.prompt_wav_upload_url),
                fileByUrl(c.prompt_wav_record_url),
                c.instruct_text,
                c.seed,
                c.stream,
                c.speed,
              ],
            },
          },
          bounded,
        );
        const { event_id: eventId } = (await submitted.json().catch(() => ({}))) as { event_id?: string };
        if (!eventId) throw new SpeechServiceError(`${engine}: the Gradio call was not accepted (no event_id)`);
        const events = await callService(engine, { url: `${callUrl}/${eventId}`, headers: { accept: 'text/event-stream' } }, bounded);
        let file: GradioFile | undefined;
        await readServiceEvents(engine, events, bounded, (event) => {
          if (event.event === 'error') throw new SpeechServiceError(`${engine}: the Gradio app reported an error: ${event.data}`);
          if (event.event !== 'complete') return 'continue';
          const data = JSON.parse(event.data) as unknown[];
          const first = (Array.isArray(data) ? data[0] : undefined) as GradioFile | GradioFile[] | undefined;
          file = Array.isArray(first) ? first.at(-1) : first;
          return 'done';
        });
        const fileUrl = file?.url ?? (file?.path ? `${base}/gradio_api/file=${file.path}` : undefined);
        if (!fileUrl) throw new SpeechServiceError(`${engine}: the Gradio app answered no audio file`);
        const audio = await callService(engine, { url: new URL(fileUrl, `${base}/`).toString() }, bounded);
        return readBody(engine, audio, bounded);
      });
      return decodeServiceAudio(engine, bytes);
    },
  };
}
