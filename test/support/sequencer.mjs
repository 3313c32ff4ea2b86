// Runs the longest test files first, so the jest workers finish together
// instead of one long file starting last. Jest's own order uses timings cached
// from earlier runs, which a clean clone (CI) does not have.
import TestSequencer from '@jest/test-sequencer';

const Sequencer = TestSequencer.default ?? TestSequencer;
const LONGEST_FIRST = ['worker-crash', 'pause-resume-cancel', 'playlists', 'downloads-client', 'pause-restart', 'secrets'];

function rank(test) {
  const index = LONGEST_FIRST.findIndex((name) => test.path.endsWith(`/${name}.test.ts`));
  return index === -1 ? LONGEST_FIRST.length : index;
}

export default class LongestFirst extends Sequencer {
  sort(tests) {
    return [...super.sort(tests)].sort((a, b) => rank(a) - rank(b));
  }
}
