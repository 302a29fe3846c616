import { decodeWav, durationMs, encodeWav, sliceVolumes } from '../../src/audio/wav.js';

describe('WAV codec', () => {
  test('round trip through the canonical 44-byte header', () => {
    const samples = Int16Array.from([0, 1000, -1000, 32767, -32768]);
    const wav = encodeWav({ sampleRate: 22050, channels: 1, samples });
    expect(wav.length).toBe(44 + samples.length * 2);
    expect(decodeWav(wav)).toEqual({ sampleRate: 22050, channels: 1, samples });
  });

  test('reads a streamed header with unknown sizes (espeak-ng --stdout), extra chunks, float and 8/24-bit data', () => {
    const wav = encodeWav({ sampleRate: 16000, channels: 1, samples: Int16Array.from([1, 2, 3, 4]) });
    wav.writeUInt32LE(0x7fffffff, 4);
    wav.writeUInt32LE(0x7fffffff, 40);
    expect(Array.from(decodeWav(wav).samples)).toEqual([1, 2, 3, 4]);

    const list = Buffer.concat([wav.subarray(0, 36), Buffer.from('LIST'), Buffer.from([4, 0, 0, 0]), Buffer.from('INFO'), wav.subarray(36)]);
    list.writeUInt32LE(8, list.indexOf('data') + 4);
    expect(Array.from(decodeWav(list).samples)).toEqual([1, 2, 3, 4]);

    const float = Buffer.from(wav);
    float.writeUInt16LE(3, 20);
    float.writeUInt16LE(32, 34);
    const data = Buffer.alloc(8);
    data.writeFloatLE(0.5, 0);
    data.writeFloatLE(-1, 4);
    expect(Array.from(decodeWav(Buffer.concat([float.subarray(0, 40), Buffer.from([8, 0, 0, 0]), data])).samples)).toEqual([16384, -32767]);
  });

  test('refuses what is not WAV', () => {
    expect(() => decodeWav(Buffer.from('ID3 this is an mp3'))).toThrow('not a RIFF/WAVE file');
  });

  test('volumes: one per 20 ms window (the last partial one too), relative to the loudest', () => {
    const samples = new Int16Array(16000 * 0.05); // 50 ms at 16 kHz: 320-sample windows → 3 values
    samples.fill(1000, 0, 320);
    samples.fill(4000, 320, 640);
    const audio = { sampleRate: 16000, channels: 1, samples };
    expect(sliceVolumes(audio)).toEqual([0.25, 1, 0]);
    expect(durationMs(audio)).toBe(50);
  });
});
