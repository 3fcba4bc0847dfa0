// Validate AsyncAPI documents with the official parser (@asyncapi/parser): the
// AsyncAPI JSON Schema of the document's version, reference resolution and the
// parser's rules. Prints one JSON line per document, {"file", "valid", "diagnostics"},
// and exits 1 when any document has an error.
// Usage: node validate-asyncapi.mjs <document.json>...
import { readFileSync } from "node:fs";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const parser = new Parser();
let allValid = true;
for (const path of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"), {
    source: path,
  });
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  const valid = document !== undefined && errors.length === 0;
  allValid &&= valid;
  console.log(
    JSON.stringify({
      file: path,
      valid,
      diagnostics: diagnostics.map((d) => ({
        severity: DiagnosticSeverity[d.severity] ?? d.severity,
        code: d.code,
        path: d.path.join("/"),
        message: d.message,
      })),
    }),
  );
}
process.exit(allValid ? 0 : 1);
