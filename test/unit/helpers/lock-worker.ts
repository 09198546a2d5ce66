// Child process for the lock test: appends entries to one MEMORY.md through the pack's safe write path.
import { appendToSection, formatBullet, memoryTemplate } from "../../../plugins/core/memory-format.ts";
import { updateFile } from "../../../plugins/memory/safe-write.ts";

const [file, root, worker, countText] = process.argv.slice(2);
const count = Number(countText);
for (let i = 0; i < count; i++) {
  const tag = { id: `m-w${worker}n${i}`, date: "2026-11-21", session: `ses_${worker}` };
  await updateFile(
    file!,
    (current) =>
      appendToSection(current, "Rules", formatBullet(`worker ${worker} entry ${i}`, tag), memoryTemplate("project")),
    {
      roots: [root!],
      versionsKept: 3,
    },
  );
}
