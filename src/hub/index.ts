/**
 * Hugging Face Hub ids wherever a model or adapter is taken: see resolve.ts (what a reference
 * resolves to) and cache.ts (the cache layout shared with Python's huggingface_hub).
 */
export { resolveModelRef, type ResolveModelRefOptions, type ModelRefKind } from './resolve.js';
export { hubCacheDir, isHubId, repoFolderName } from './cache.js';
