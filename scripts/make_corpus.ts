// Builds data/corpus/nodejs-docs-prose.txt: the prose of a few Node.js API documentation pages (MIT licence,
// installed here by the Debian nodejs package under /usr/share/doc/nodejs/api), code blocks, HTML comments,
// YAML/metadata and link-reference lines removed. Run once; the result is committed (see data/corpus/README.md).
const SRC = "/usr/share/doc/nodejs/api";
const PAGES = ["events.md", "stream.md", "buffer.md", "process.md", "fs.md"];
const TARGET_BYTES = 240_000;

function prose(md: string): string {
  const out: string[] = [];
  let inCode = false, inComment = false;
  for (const line of md.split("\n")) {
    if (line.trim().startsWith("```")) { inCode = !inCode; continue; }
    if (inCode) continue;
    if (line.includes("<!--")) inComment = true;
    if (inComment) { if (line.includes("-->")) inComment = false; continue; }
    if (/^\[[^\]]+\]:/.test(line)) continue; // link reference definitions
    if (/^\s*[*-] `[^`]+` \{/.test(line)) continue; // parameter type lists
    out.push(line.replace(/\[([^\]]+)\]\[[^\]]*\]/g, "$1").replace(/[^\x20-\x7e\n]/g, ""));
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n");
}

let text = "";
for (const p of PAGES) {
  if (text.length >= TARGET_BYTES) break;
  text += prose(Deno.readTextFileSync(`${SRC}/${p}`)) + "\n";
}
text = text.slice(0, TARGET_BYTES);
text = text.slice(0, text.lastIndexOf("\n") + 1);
Deno.writeTextFileSync(new URL("../data/corpus/nodejs-docs-prose.txt", import.meta.url), text);
console.log(`wrote ${text.length} bytes, ${new Set(text).size} distinct characters`);
