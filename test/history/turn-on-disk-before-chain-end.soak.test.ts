import { describeKillAfterChainEnd } from '../helpers/kill-after-chain-end.js';

// The default suite kills the server 3 times (turn-on-disk-before-chain-end.test.ts).
describeKillAfterChainEnd(60);
