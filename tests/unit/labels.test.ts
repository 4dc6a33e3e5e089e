import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifierSystemPrompt, mapAnswerToLabel, swiftMessagesRow } from '../../core/labels.js';

test('mapAnswerToLabel: exact, then case- and space-normalised; otherwise undefined', () => {
  const labels = ['ham', 'spam', 'Hard Ham'];
  assert.equal(mapAnswerToLabel('spam', labels), 'spam');
  assert.equal(mapAnswerToLabel(' SPAM\n', labels), 'spam');
  assert.equal(mapAnswerToLabel('hard   ham', labels), 'Hard Ham');
  assert.equal(mapAnswerToLabel('spam.', labels), undefined);
  assert.equal(mapAnswerToLabel('', labels), undefined);
});

test('swiftMessagesRow: system prompt listing labels, text as user, label as assistant', () => {
  assert.deepEqual(swiftMessagesRow('hi there', 'ham', ['ham', 'spam']), {
    messages: [
      { role: 'system', content: 'Classify the text into exactly one of these labels: ham, spam. Answer with the label only.' },
      { role: 'user', content: 'hi there' },
      { role: 'assistant', content: 'ham' },
    ],
  });
  assert.equal(swiftMessagesRow('x', undefined, ['a', 'b']).messages.length, 2);
  assert.match(classifierSystemPrompt(['a', 'b']), /a, b/);
});
