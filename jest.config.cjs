/** Jest runs the ESM sources as CommonJS, compiled by swc; imports ending in `.js` are mapped to the .ts sources. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Soak and many-cycle tests (`*.soak.test.ts`) run with `npm run test:soak` (jest.soak.config.cjs).
  testPathIgnorePatterns: ['/node_modules/', '\\.soak\\.test\\.ts$'],
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // its CommonJS entry is a browser IIFE; the ESM build is compiled like our sources
    '^@breezystack/lamejs$': '<rootDir>/node_modules/@breezystack/lamejs/dist/lamejs.js',
  },
  // ESM-only dependencies are compiled to CommonJS too.
  transformIgnorePatterns: ['/node_modules/(?!(eventsource-parser|mpg123-decoder|@wasm-audio-decoders|@breezystack/lamejs)/)'],
  testTimeout: 30000,
  // Most tests wait on sockets and child processes, not on the CPU: one worker per core (jest's default leaves one
  // core idle, 1 worker on a 2-core machine) halves the suite's time there (about 250 s → 130 s, measured).
  maxWorkers: '100%',
};
