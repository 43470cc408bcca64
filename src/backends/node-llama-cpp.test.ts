import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../util/errors.js';
import { importNodeLlamaCpp } from './node-llama-cpp.js';

test('a missing node-llama-cpp is reported with the command that installs the pinned version', async () => {
  await assert.rejects(importNodeLlamaCpp('node-llama-cpp-not-installed-here'), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /needs the optional package node-llama-cpp, which is not installed; install it with `npm install node-llama-cpp@3\.21\.1`/);
    return true;
  });
});
