/** Public API of the pure AudioHook protocol library. */
export * from './duration.js';
export * from './messages.js';
export * from './media.js';
export * from './signature.js';
export * from './auth.js';
