// Every FFI symbol table, merged. Each area of samoyeds.h has its own file; add new ones here.
import { coreSymbols } from "./core.ts";

export const allSymbols = {
  ...coreSymbols,
} as const;
