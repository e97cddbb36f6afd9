// System packages the test and figure tasks need from Debian: Jupyter's nbconvert + client (headless notebooks) and
// DejaVu fonts (text in PNG figures). Installed with apt-get when running as root, else explained.
import { findTool } from "../lib/native/build.ts";

export const JUPYTER_PACKAGES = ["jupyter-nbconvert", "jupyter-client"];
export const FONT_PACKAGES = ["fonts-dejavu-core"];

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function aptInstall(packages: string[], why: string): Promise<string | undefined> {
  const apt = await findTool("apt-get");
  const root = Deno.uid() === 0;
  if (!apt || !root) {
    return `${why}: missing Debian packages ${packages.join(" ")}. Install them with:\n` +
      `  sudo apt-get update && sudo apt-get install -y ${packages.join(" ")}`;
  }
  console.log(`installing ${packages.join(" ")} (${why}) with apt-get ...`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", ...packages]]) {
    const r = await new Deno.Command(apt, { args, env, stdout: "inherit", stderr: "inherit" }).output();
    if (!r.success) return `apt-get ${args[0]} failed (exit ${r.code}); install ${packages.join(" ")} by hand`;
  }
  return undefined;
}

/** Path of jupyter-nbconvert, installing it when possible; throws with instructions otherwise. */
export async function ensureNbconvert(): Promise<string> {
  let nb = await findTool("jupyter-nbconvert");
  if (!nb) {
    const err = await aptInstall(JUPYTER_PACKAGES, "executing notebooks headless");
    if (err) throw new Error(err);
    nb = await findTool("jupyter-nbconvert");
    if (!nb) throw new Error("jupyter-nbconvert still not on PATH after installing " + JUPYTER_PACKAGES.join(" "));
  }
  return nb;
}

/** Installs DejaVu fonts when no usable TTF font is present (PNG text), else just warns. */
export async function ensureFonts(): Promise<void> {
  if (exists("/usr/share/fonts/truetype/dejavu") || exists("/usr/share/fonts/truetype/liberation")) return;
  const err = await aptInstall(FONT_PACKAGES, "text in PNG figures");
  if (err) console.warn(`warning: ${err}`);
}
