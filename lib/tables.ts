// Tables for notebooks and figures: arquero over the results in data/ (see lib/data.ts for writing them).
import * as aq from "arquero";
import { dataDir, readResults, ResultFile } from "./data.ts";
import { join } from "node:path";

export { aq };

/** An arquero table from a result file's array field (default "rows"), or from a CSV in data/ (comment lines skipped). */
export function table(nameOrPath: string, field = "rows"): aq.ColumnTable {
  if (nameOrPath.endsWith(".csv")) {
    const path = nameOrPath.includes("/") ? nameOrPath : join(dataDir, nameOrPath);
    const text = Deno.readTextFileSync(path).split("\n").filter((l) => !l.startsWith("#")).join("\n");
    return aq.fromCSV(text);
  }
  const r = readResults<ResultFile>(nameOrPath);
  if (!r) throw new Error(`table: no result file ${nameOrPath} (run \`deno task reproduce\` or a GPU run first)`);
  const rows = r[field];
  if (!Array.isArray(rows)) throw new Error(`table: ${nameOrPath} has no array field "${field}"`);
  return aq.from(rows as Record<string, unknown>[]);
}
