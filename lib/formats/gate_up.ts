// Row order of a stacked gate-up weight (native/src/common/swiglu_layout.h, mirrored here): blocks of SWIGLU_BLOCK
// gate rows and SWIGLU_BLOCK up rows of the same features alternate, so that the SSMM kernels can apply SwiGLU
// (epilogue "swiglu": SiLU(gate) * up) in registers, and sy_moe_silu_mul_pair reads the same order. The blocks are
// whole row pairs: the Samoyeds 1:2 pairing of a stacked weight is the pairing of its gate and up weights.
import { HostTensor } from "../tensor.ts";

export const SWIGLU_BLOCK = 16;

/** Stacked row of feature f's gate (its up row is SWIGLU_BLOCK further). */
export function swigluGateRow(f: number): number {
  return 2 * SWIGLU_BLOCK * Math.floor(f / SWIGLU_BLOCK) + (f % SWIGLU_BLOCK);
}

/** The stacked 2I x H weight of gate (I x H) and up (I x H) in the interleaved row order; I % 16 == 0 (always true for
 * Samoyeds experts: I is also the down projection's k, a multiple of V >= 32). */
export function interleaveGateUp(gate: HostTensor, up: HostTensor): HostTensor {
  const [I, H] = gate.shape;
  if (up.shape[0] !== I || up.shape[1] !== H || up.dtype !== gate.dtype) {
    throw new TypeError(`interleaveGateUp: gate [${gate.shape}] ${gate.dtype} and up [${up.shape}] ${up.dtype} must match`);
  }
  if (I % SWIGLU_BLOCK !== 0) throw new RangeError(`interleaveGateUp: the intermediate size (${I}) must be a multiple of ${SWIGLU_BLOCK}`);
  const out = new HostTensor(gate.dtype, [2 * I, H]);
  const dst = out.data as Uint16Array | Float32Array, g = gate.data as typeof dst, u = up.data as typeof dst;
  for (let f = 0; f < I; f++) {
    const r = swigluGateRow(f);
    dst.set(g.subarray(f * H, (f + 1) * H), r * H);
    dst.set(u.subarray(f * H, (f + 1) * H), (r + SWIGLU_BLOCK) * H);
  }
  return out;
}

/** The gate and up rows (I x H each, f32) of an interleaved stacked weight (2I x H, f32 values). */
export function splitGateUp(gu: Float32Array, I: number, H: number): { gate: Float32Array; up: Float32Array } {
  const gate = new Float32Array(I * H), up = new Float32Array(I * H);
  for (let f = 0; f < I; f++) {
    const r = swigluGateRow(f);
    gate.set(gu.subarray(r * H, (r + 1) * H), f * H);
    up.set(gu.subarray((r + SWIGLU_BLOCK) * H, (r + SWIGLU_BLOCK + 1) * H), f * H);
  }
  return { gate, up };
}
