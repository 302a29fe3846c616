import type { Frame } from './ws-client.js';

/** The frame that closes a reply's chain (docs/protocol.md, 'Turn frames'): `control` with `conversation-chain-end`. */
export const isChainEnd = (f: Frame): boolean => f.type === 'control' && f.text === 'conversation-chain-end';

/** The frame that opens a reply's chain. */
export const isChainStart = (f: Frame): boolean => f.type === 'control' && f.text === 'conversation-chain-start';

/** How many chains have ended among `frames`. */
export const chainEnds = (frames: readonly Frame[]): number => frames.filter(isChainEnd).length;
