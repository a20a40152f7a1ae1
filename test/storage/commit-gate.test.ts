import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommitGate } from '../../src/storage/duckdb/commit-gate.ts';

test('a large commit waits for the reads running and holds new ones off until it is done', async () => {
  const gate = new CommitGate();
  const order: string[] = [];
  let finishRead!: () => void;
  const running = gate.read(async () => {
    await new Promise<void>((resolve) => (finishRead = resolve));
    order.push('first read');
  });
  const commit = gate.largeCommit(async () => {
    order.push('commit');
  });
  const later = gate.read(async () => {
    order.push('later read');
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, []);
  finishRead();
  await Promise.all([running, commit, later]);
  assert.deepEqual(order, ['first read', 'commit', 'later read']);
});

test('a large commit goes ahead of a read that does not end, rather than hold every other read off with it', { timeout: 30_000 }, async () => {
  const gate = new CommitGate();
  let finishRead!: () => void;
  const endless = gate.read(() => new Promise<void>((resolve) => (finishRead = resolve)));
  let committed = false;
  await gate.largeCommit(async () => {
    committed = true;
  });
  assert.equal(committed, true);
  assert.equal(await gate.read(async () => 'read after the commit'), 'read after the commit');
  finishRead();
  await endless;
});

test('large commits take turns, and a failed one lets the next and the reads through', async () => {
  const gate = new CommitGate();
  const order: string[] = [];
  const failing = gate.largeCommit(async () => {
    order.push('failing');
    throw new Error('commit failed');
  });
  const next = gate.largeCommit(async () => {
    order.push('next');
  });
  await assert.rejects(failing, /commit failed/);
  await next;
  await gate.read(async () => order.push('read'));
  assert.deepEqual(order, ['failing', 'next', 'read']);
});
