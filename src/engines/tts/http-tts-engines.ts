import { azureTtsEngine } from './azure-tts.js';
import { cartesiaTtsEngine } from './cartesia-tts.js';
import { cosyvoice2TtsEngine } from './cosyvoice2-tts.js';
import { elevenlabsTtsEngine } from './elevenlabs-tts.js';
import { fishApiTtsEngine } from './fish-api-tts.js';
import { gptSovitsTtsEngine } from './gpt-sovits-tts.js';
import type { HttpEngineOptions } from './http-synthesis.js';
import { minimaxTtsEngine } from './minimax-tts.js';
import { siliconflowTtsEngine } from './siliconflow-tts.js';
import { xTtsEngine } from './x-tts.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

/** Upstream's HTTP speech engines by their `tts_model` name; each validates its own block (zod, upstream's keys). */
export const HTTP_TTS_ENGINES: Record<string, (block: unknown, options: HttpEngineOptions) => TtsEngine> = {
  gpt_sovits_tts: gptSovitsTtsEngine,
  fish_api_tts: fishApiTtsEngine,
  siliconflow_tts: siliconflowTtsEngine,
  cosyvoice2_tts: cosyvoice2TtsEngine,
  minimax_tts: minimaxTtsEngine,
  elevenlabs_tts: elevenlabsTtsEngine,
  cartesia_tts: cartesiaTtsEngine,
  azure_tts: azureTtsEngine,
  x_tts: xTtsEngine,
};
