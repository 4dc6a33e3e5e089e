import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeRowJudgements, type RowJudgement } from '../../core/verdict-merge.js';

const j = (id: number, given: string, judged: string | undefined, reason: string): RowJudgement => ({ id, given, judged, reason });

test('one pair: the judged label decides, with its reason', () => {
  assert.deepEqual(mergeRowJudgements([j(7, 'ham', 'spam', 'an ad.'), j(2, 'spam', 'spam', 'an ad too.')]), [
    { id: 2, verdict: 'label_ok', reason: 'an ad too.' },
    { id: 7, verdict: 'mislabeled', suggested: 'spam', reason: 'an ad.' },
  ]);
});

test('several pairs: a strict majority wins; the first reason for it is kept, with the tally', () => {
  assert.deepEqual(mergeRowJudgements([j(4, 'spam', 'ham', 'r1'), j(4, 'spam', 'spam', 'r2'), j(4, 'spam', 'ham', 'r3')]), [
    { id: 4, verdict: 'mislabeled', suggested: 'ham', reason: 'r1 (2 of 3 pairs)' },
  ]);
  assert.deepEqual(mergeRowJudgements([j(4, 'spam', 'spam', 'r1'), j(4, 'spam', 'spam', 'r2')]), [{ id: 4, verdict: 'label_ok', reason: 'r1 (2 of 2 pairs)' }]);
});

test('a tie, or no majority among three labels, is undecided', () => {
  assert.deepEqual(mergeRowJudgements([j(1, 'a', 'a', 'x'), j(1, 'a', 'b', 'y')]), [
    { id: 1, verdict: 'undecided', reason: 'the judge disagrees with itself across 2 pairs: a ×1, b ×1' },
  ]);
  assert.equal(mergeRowJudgements([j(1, 'a', 'a', ''), j(1, 'a', 'b', ''), j(1, 'a', 'c', '')])[0]!.verdict, 'undecided');
});

test('pairs without a valid answer carry no vote; a row with none is undecided with the reason why', () => {
  assert.deepEqual(mergeRowJudgements([j(3, 'a', undefined, 'no valid answer'), j(3, 'a', 'b', 'it is b.')]), [
    { id: 3, verdict: 'mislabeled', suggested: 'b', reason: 'it is b. (1 of 2 pairs)' },
  ]);
  assert.deepEqual(mergeRowJudgements([j(3, 'a', undefined, 'no valid answer'), j(3, 'a', undefined, 'timeout')]), [
    { id: 3, verdict: 'undecided', reason: 'no valid answer (2 pairs, none answered)' },
  ]);
});

test('one row with two given labels is a programming error', () => {
  assert.throws(() => mergeRowJudgements([j(1, 'a', 'a', ''), j(1, 'b', 'a', '')]), /row 1 has two given labels/u);
});
