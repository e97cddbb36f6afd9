// Dense GEMM through FFI (sy_gemm: CPU reference or cuBLAS): Y = X * W^T, X n x k, W m x k, both f16/bf16.
import { Backend } from "../native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType } from "../tensor.ts";

export interface GemmOptions {
  /** output dtype: "f32" (default) or the operand dtype */
  yDtype?: "f32" | HalfDType;
  /** 0: Y is n x m token-major (default); 1: Y is m x n feature-major */
  yLayout?: 0 | 1;
  /** write into this tensor instead of allocating one */
  out?: BackendTensor;
}

/** Enqueues Y = X * W^T on X's backend (CUDA: no sync, capturable). Shapes: X [n, k], W [m, k]. */
export function gemm(X: BackendTensor, W: BackendTensor, opts: GemmOptions = {}): BackendTensor {
  const b: Backend = X.backend;
  if (W.backend !== b) throw new Error(`gemm: X is on the ${b.name} backend but W on ${W.backend.name}`);
  if (X.shape.length !== 2 || W.shape.length !== 2) {
    throw new RangeError(`gemm: X and W must be 2-D (got X [${X.shape}], W [${W.shape}])`);
  }
  const [n, k] = X.shape, [m, kw] = W.shape;
  if (k !== kw) throw new RangeError(`gemm: reduction sizes differ: X [${X.shape}] has k=${k}, W [${W.shape}] has k=${kw}`);
  if (X.dtype !== W.dtype) throw new TypeError(`gemm: X is ${X.dtype} but W is ${W.dtype}`);
  if (X.dtype !== "f16" && X.dtype !== "bf16") throw new TypeError(`gemm: operands must be f16 or bf16, got ${X.dtype}`);
  const yDtype = opts.yDtype ?? "f32", yLayout = opts.yLayout ?? 0;
  const shape = yLayout === 0 ? [n, m] : [m, n];
  const Y = opts.out ?? new BackendTensor(b, yDtype, shape);
  if (Y.dtype !== yDtype || Y.numel !== n * m) {
    throw new RangeError(`gemm: output tensor is ${Y.dtype} [${Y.shape}], need ${yDtype} [${shape}]`);
  }
  b.call("sy_gemm", DTYPE_CODE[X.dtype], n, m, k, X.ptr, W.ptr, Y.ptr, DTYPE_CODE[yDtype], yLayout);
  return Y;
}
