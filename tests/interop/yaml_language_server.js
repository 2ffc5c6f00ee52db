// Open YAML files in yaml-language-server (stdio LSP) and print its diagnostics as JSON:
// {"<file name>": ["<line>: <message>", ...]}. Usage: node yaml_language_server.js ROOT FILE...
// yaml.schemas maps ./schemas/event.schema.json to events/**/*.yaml, as .vscode/settings.json does.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");

const [root, ...files] = process.argv.slice(2);
const server = spawn(process.execPath, [require.resolve("yaml-language-server/bin/yaml-language-server",
  { paths: [process.cwd()] }), "--stdio"]);
const settings = { yaml: { validate: true, schemaStore: { enable: false },
  schemas: JSON.parse(fs.readFileSync(path.join(root, ".vscode/settings.json"), "utf8"))["yaml.schemas"] } };
const uris = new Map(files.map((f) => ["file://" + path.resolve(f), path.basename(f)]));
const results = {};
let buffer = Buffer.alloc(0);

function send(message) {
  const body = JSON.stringify({ jsonrpc: "2.0", ...message });
  server.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function receive(message) {
  if (message.method === "workspace/configuration") {
    send({ id: message.id, result: message.params.items.map(() => settings.yaml) });
  } else if (message.id !== undefined && message.method) {
    send({ id: message.id, result: null });
  } else if (message.id === 1) {  // initialized: configure, then open every file
    send({ method: "initialized", params: {} });
    send({ method: "workspace/didChangeConfiguration", params: { settings } });
    for (const [uri, name] of uris) {
      send({ method: "textDocument/didOpen", params: { textDocument: {
        uri, languageId: "yaml", version: 1, text: fs.readFileSync(path.join(path.dirname(uri.slice(7)), name), "utf8") } } });
    }
  } else if (message.method === "textDocument/publishDiagnostics" && uris.has(message.params.uri)) {
    results[uris.get(message.params.uri)] = message.params.diagnostics.map(
      (d) => `${d.range.start.line + 1}: ${d.message}`);
    if (Object.keys(results).length === uris.size) {
      console.log(JSON.stringify(results));
      process.exit(0);
    }
  }
}

server.stdout.on("data", (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf("\r\n\r\n");
    if (end < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString())[1]);
    if (buffer.length < end + 4 + length) return;
    receive(JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString()));
    buffer = buffer.subarray(end + 4 + length);
  }
});
send({ id: 1, method: "initialize", params: { processId: process.pid, rootUri: "file://" + path.resolve(root),
  capabilities: { workspace: { configuration: true } } } });
setTimeout(() => { console.error("no diagnostics within 30 s"); process.exit(1); }, 30000);
