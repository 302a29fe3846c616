import { describeProtocolModel } from '../helpers/protocol-model.js';

// Soak (npm run test:soak): the model-based protocol test of protocol-properties.test.ts, at length.
describeProtocolModel(500);
