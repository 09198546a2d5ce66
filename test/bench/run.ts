// `npm run bench`: runs every test/bench/*.bench.ts (each exports `run(): Promise<BenchRow[]>`) and prints one
// markdown table with this machine's numbers, for docs/reference/benchmarks.md. Benchmarks are measurements, not tests: a missed
// target is printed as such and makes the exit code 1, but no timing is asserted inside the test suite.
import { readdirSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";

interface BenchRow {
  measure: string;
  target: string;
  result: string;
  ok: boolean;
}

const dir = fileURLToPath(new URL(".", import.meta.url));
const only = process.argv[2];
const files = readdirSync(dir)
  .filter((name) => name.endsWith(".bench.ts") && (!only || name.includes(only)))
  .sort();

const rows: (BenchRow & { bench: string })[] = [];
for (const file of files) {
  const module = (await import(pathToFileURL(join(dir, file)).href)) as { run(): Promise<BenchRow[]> };
  console.error(`running ${file} …`);
  for (const row of await module.run()) rows.push({ bench: file.replace(/\.bench\.ts$/, ""), ...row });
}

console.log(
  `Measured on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.version}.\n`,
);
console.log("| Benchmark | Measure | Target | Result | Met |");
console.log("|---|---|---|---|---|");
for (const row of rows)
  console.log(`| ${row.bench} | ${row.measure} | ${row.target} | ${row.result} | ${row.ok ? "yes" : "**no**"} |`);
process.exitCode = rows.every((row) => row.ok) ? 0 : 1;
