// Prints the one plain line CI records: "N passed, N failed" and, when any, ", N skipped"
// (tests, from jest's own results). A suite that could not run at all (a runtime error before
// its tests) counts as one failure, so it can never pass unnoticed.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`\n${results.numPassedTests} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
  }
}
module.exports = SummaryReporter;
