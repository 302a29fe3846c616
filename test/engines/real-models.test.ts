import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { decodeWav } from '../../src/audio/wav.js';
import { findProgram } from '../../src/engines/find-program.js';
import { editConf } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { useTestServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';

/**
 * The shipped stack on real model files, when this machine has them (none can be downloaded on the test machines):
 *   LLAMA_MODEL_PATH=/path/qwen2.5-0.5b-instruct-q4_k_m.gguf                       the mind (any chat GGUF)
 *   SHERPA_ONNX_ASR_MODEL_DIR=models/sherpa-onnx-sense-voice-zh-en-ja-ko-yue-int8-2024-07-17   the ears
 *   SHERPA_TTS_MODEL_DIR=models/vits-piper-en_US-libritts_r-medium                    the voice
 * Each part runs when its variable is set and is skipped otherwise. Nothing here reaches the network.
 */

const LLM = process.env.LLAMA_MODEL_PATH;
const ASR = process.env.SHERPA_ONNX_ASR_MODEL_DIR;
const TTS = process.env.SHERPA_TTS_MODEL_DIR;
const espeak = findProgram('espeak-ng');

function stack(fixtureRoot: string) {
  const changes: Record<string, unknown> = {};
  if (LLM) {
    changes['character_config.agent_config.agent_settings.basic_memory_agent.llm_provider'] = 'llama_cpp_llm';
    changes['character_config.agent_config.llm_configs.llama_cpp_llm'] = { model_path: LLM, context_size: 2048, max_tokens: 96, temperature: 0.2, seed: 1 };
  }
  if (ASR) {
    const model = ['model.int8.onnx', 'model.onnx'].find((f) => existsSync(path.join(ASR, f)))!;
    changes['character_config.asr_config.asr_model'] = 'sherpa_onnx_asr';
    changes['character_config.asr_config.sherpa_onnx_asr'] = { model_type: 'sense_voice', sense_voice: path.join(ASR, model), tokens: path.join(ASR, 'tokens.txt'), num_threads: 1, use_itn: true };
  }
  if (TTS) {
    const onnx = readdirSync(TTS).find((f) => f.endsWith('.onnx'))!;
    changes['character_config.tts_config.tts_model'] = 'sherpa_onnx_tts';
    changes['character_config.tts_config.sherpa_onnx_tts'] = { vits_model: path.join(TTS, onnx), vits_tokens: path.join(TTS, 'tokens.txt'), vits_data_dir: path.join(TTS, 'espeak-ng-data'), sid: 0, num_threads: 1 };
  }
  editConf(fixtureRoot, changes);
}

(LLM || ASR || TTS ? describe : describe.skip)('real models (LLAMA_MODEL_PATH, SHERPA_ONNX_ASR_MODEL_DIR, SHERPA_TTS_MODEL_DIR)', () => {
  const fixture = makeFixtureRoot();
  stack(fixture.root);
  const harness = useTestServer(fixture);

  (LLM || TTS ? test : test.skip)('a text turn: the mind answers, the voice speaks each sentence', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.frames.length = 0;
    client.send({ type: 'text-input', text: 'Say hello to me in one short sentence.', images: [] });
    await client.next('backend-synth-complete', 1, 120_000);
    expect(client.ofType('error')).toEqual([]);
    const audio = client.ofType('audio');
    expect(audio.map((f) => (f.display_text as { text: string }).text).join('').trim().length).toBeGreaterThan(0);
    const wav = decodeWav(Buffer.from(audio[0]!.audio as string, 'base64'));
    expect(wav.samples.length).toBeGreaterThan(wav.sampleRate / 4); // real speech
    await client.close();
  }, 180_000);

  (ASR && espeak ? test : test.skip)('voice input: espeak-ng says "hello world", SenseVoice hears it', async () => {
    const wav = decodeWav(execFileSync(espeak!, ['--stdout', '-v', 'en-us', 'hello world']));
    // 22,050 Hz from espeak-ng → the 16 kHz float samples the client sends.
    const ratio = wav.sampleRate / 16000;
    const samples = Array.from({ length: Math.floor(wav.samples.length / ratio) }, (_, i) => wav.samples[Math.floor(i * ratio)]! / 32768);
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.frames.length = 0;
    for (let at = 0; at < samples.length; at += 4096) client.send({ type: 'mic-audio-data', audio: samples.slice(at, at + 4096) });
    client.send({ type: 'mic-audio-end', images: [] });
    const heard = await client.next('user-input-transcription', 1, 60_000);
    expect(String(heard.text).toLowerCase()).toMatch(/hello/);
    client.send({ type: 'interrupt-signal', text: '' });
    await client.close();
  }, 120_000);
});
