// Every FFI symbol table, merged. Each area of samoyeds.h has its own file; add new ones here.
import { coreSymbols } from "./core.ts";
import { baselineSymbols } from "./baselines.ts";
import { moeSymbols } from "./moe.ts";
import { wgmmaSymbols } from "./wgmma.ts";
import { samoyedsSymbols } from "./samoyeds.ts";

export const allSymbols = {
  ...coreSymbols,
  ...baselineSymbols,
  ...moeSymbols,
  ...wgmmaSymbols,
  ...samoyedsSymbols,
} as const;
