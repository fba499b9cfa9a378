// Validate an AsyncAPI document with the AsyncAPI project's own parser.
// Usage: node validate.mjs FILE   -> prints {"errors": [...], "warnings": [...], "operations": N, ...} as JSON;
// exit code 0 when the parser reports no errors, 1 otherwise.
import { readFile } from 'node:fs/promises';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate.mjs FILE');
  process.exit(2);
}
const source = await readFile(file, 'utf8');
const parser = new Parser();
const { document, diagnostics } = await parser.parse(source, { source: file });
const describe = (d) => ({ code: d.code, message: d.message, path: d.path.join('/') });
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).map(describe);
const warnings = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Warning).map(describe);
const summary = { errors, warnings };
if (document) {
  summary.version = document.version();
  summary.operations = document.operations().length;
  summary.channels = document.channels().length;
  summary.messages = document.messages().length;
  // What a client needs from each RPC operation: its routing key, exchange and the reply-to location.
  summary.rpc = {};
  for (const op of document.operations()) {
    if (!op.id().startsWith('rpc.')) continue;
    const channel = op.channels().all()[0];
    const amqp = channel.bindings().get('amqp')?.value() ?? {};
    summary.rpc[op.id()] = {
      address: channel.address(),
      exchange: amqp.exchange?.name,
      replyTo: op.reply()?.address()?.location(),
      deliveryMode: op.bindings().get('amqp')?.value()?.deliveryMode,
    };
  }
}
console.log(JSON.stringify(summary));
process.exit(errors.length === 0 && document ? 0 : 1);
