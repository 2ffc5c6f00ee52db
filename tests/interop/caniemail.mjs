// Check e-mail HTML against caniemail's data (npm @jsx-email/doiuse-email) and print, as
// JSON, every unsupported or partly supported feature per file and client.
// Usage: node caniemail.mjs CLIENT_GLOB,... FILE.html...   (used by tests/newsletter/test_caniemail.py)
import { readFileSync } from "node:fs";
import { doIUseEmail } from "@jsx-email/doiuse-email";

const [clients, ...files] = process.argv.slice(2);
const result = {};
for (const file of files) {
  const report = doIUseEmail(readFileSync(file, "utf8"), { emailClients: clients.split(",") });
  result[file] = { success: report.success, errors: report.errors ?? [], notes: report.notes ?? [] };
}
process.stdout.write(JSON.stringify(result, null, 1));
