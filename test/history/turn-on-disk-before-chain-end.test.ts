import { describeKillAfterChainEnd } from '../helpers/kill-after-chain-end.js';

describeKillAfterChainEnd(3);
