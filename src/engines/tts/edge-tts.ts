import { createHash, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { decodeMp3 } from '../../audio/mp3.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

/**
 * `edge_tts`: Microsoft Edge's online "Read aloud" voices (upstream's default engine), over its WebSocket protocol
 * as the edge-tts project documents it. The service only serves MP3, which is decoded to PCM here. It needs the
 * internet; `endpoint` can point elsewhere (a proxy, or a test server).
 */

export const EDGE_TRUSTED_CLIENT_TOKEN = '6A5AA1D4EAFF4E9FB37E23D68491D6F4';
const EDGE_ENDPOINT = 'wss://speech.platform.bing.com/consumer/speech/synthesize/readaloud/edge/v1';
const CHROMIUM_VERSION = '130.0.2849.68';
const WINDOWS_EPOCH_OFFSET_S = 11644473600;

export interface EdgeTtsSettings {
  voice: string;
  rate?: string;
  pitch?: string;
  volume?: string;
  endpoint?: string;
  /** Give up on a synthesis after this long. */
  timeoutMs?: number;
}

/** The `Sec-MS-GEC` token: SHA-256 of the Windows-epoch time (rounded down to 5 minutes, in 100 ns) and the client token. */
export function secMsGec(nowMs = Date.now()): string {
  let seconds = Math.floor(nowMs / 1000) + WINDOWS_EPOCH_OFFSET_S;
  seconds -= seconds % 300;
  const ticks = BigInt(seconds) * 10_000_000n;
  return createHash('sha256').update(`${ticks}${EDGE_TRUSTED_CLIENT_TOKEN}`, 'ascii').digest('hex').toUpperCase();
}

const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export function edgeSsml(text: string, s: EdgeTtsSettings): string {
  const lang = /^[a-z]{2,3}-[A-Z]{2}/.exec(s.voice)?.[0] ?? 'en-US';
  return (
    `<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='${lang}'>` +
    `<voice name='${escapeXml(s.voice)}'><prosody pitch='${s.pitch ?? '+0Hz'}' rate='${s.rate ?? '+0%'}' volume='${s.volume ?? '+0%'}'>` +
    `${escapeXml(text)}</prosody></voice></speak>`
  );
}

export function edgeTtsEngine(settings: EdgeTtsSettings): TtsEngine {
  return {
    provider: 'edge_tts',
    async synthesize(text, signal) {
      const connectionId = randomUUID().replace(/-/g, '');
      const url =
        `${settings.endpoint ?? EDGE_ENDPOINT}?TrustedClientToken=${EDGE_TRUSTED_CLIENT_TOKEN}` +
        `&ConnectionId=${connectionId}&Sec-MS-GEC=${secMsGec()}&Sec-MS-GEC-Version=1-${CHROMIUM_VERSION}`;
      const mp3 = await new Promise<Buffer>((resolve, reject) => {
        const ws = new WebSocket(url, {
          headers: {
            Origin: 'chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold',
            'User-Agent': `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${CHROMIUM_VERSION.split('.')[0]}.0.0.0 Safari/537.36 Edg/${CHROMIUM_VERSION.split('.')[0]}.0.0.0`,
            Pragma: 'no-cache',
            'Cache-Control': 'no-cache',
          },
        });
        const chunks: Buffer[] = [];
        let settled = false;
        const finish = (err?: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          ws.removeAllListeners('close');
          ws.on('error', () => undefined);
          if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
          if (err) reject(err);
          else resolve(Buffer.concat(chunks));
        };
        const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        const timer = setTimeout(() => finish(new Error('edge_tts: no answer in time')), settings.timeoutMs ?? 20000);
        ws.on('error', (err) => finish(new Error(`edge_tts: ${err.message}`)));
        ws.on('close', () => finish(new Error('edge_tts: the service closed the connection before the end of the speech')));
        ws.on('open', () => {
          const stamp = new Date().toString();
          ws.send(
            `X-Timestamp:${stamp}\r\nContent-Type:application/json; charset=utf-8\r\nPath:speech.config\r\n\r\n` +
              '{"context":{"synthesis":{"audio":{"metadataoptions":{"sentenceBoundaryEnabled":"false","wordBoundaryEnabled":"false"},"outputFormat":"audio-24khz-48kbitrate-mono-mp3"}}}}\r\n',
          );
          ws.send(`X-RequestId:${connectionId}\r\nContent-Type:application/ssml+xml\r\nX-Timestamp:${stamp}Z\r\nPath:ssml\r\n\r\n${edgeSsml(text, settings)}`);
        });
        ws.on('message', (data: Buffer, isBinary) => {
          if (isBinary) {
            const headerLength = data.readUInt16BE(0);
            const header = data.toString('utf8', 2, 2 + headerLength);
            if (/(^|\r\n)Path:audio(\r\n|$)/.test(header)) chunks.push(data.subarray(2 + headerLength));
          } else if (/(^|\r\n)Path:turn\.end(\r\n|$)/.test(data.toString('utf8'))) finish();
        });
      });
      if (mp3.length === 0) return null;
      return decodeMp3(mp3);
    },
  };
}
