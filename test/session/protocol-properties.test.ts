import { describeProtocolModel } from '../helpers/protocol-model.js';

// Model-based: random command sequences against the real server, checked against test/helpers/protocol-model.ts.
// 50 sequences per `npm test`; test/session/protocol-properties.soak.test.ts runs 500.
describeProtocolModel(50);
