// Every FFI symbol table, merged. Each area of samoyeds.h has its own file; add new ones here.
import { coreSymbols } from "./core.ts";
import { moeSymbols } from "./moe.ts";
import { samoyedsSymbols } from "./samoyeds.ts";
import { wgmmaSymbols } from "./wgmma.ts";

export const allSymbols = {
  ...coreSymbols,
  ...moeSymbols,
  ...samoyedsSymbols,
  ...wgmmaSymbols,
} as const;
