/** `npm run test:soak`: the soak and many-cycle tests (`*.soak.test.ts`), which `npm test` leaves out. */
const base = require('./jest.config.cjs');

module.exports = {
  ...base,
  testMatch: ['**/*.soak.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 300000,
  // Soak tests measure memory and process counts over hundreds of cycles: one at a time.
  maxWorkers: 1,
};
