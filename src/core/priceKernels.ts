import type { CostModel, KernelCost } from "./costModel.js"
import type { KernelSpec } from "./kernels.js"

/**
 * Prices each kernel of a work item and sums the prices, in order: what a live executor stores as
 * the prediction beside its measured row (`predictedNs`) and the row's flops and bytes.
 * (`PricedExecutor` keeps its own loop, which reuses the prices of kernels repeated from the last item.)
 * @example const { costs, ns } = priceKernels(model, item.kernels)
 */
export const priceKernels = (model: CostModel, kernels: readonly KernelSpec[]): { costs: KernelCost[]; ns: number; flops: number; bytes: number } => {
  const costs = kernels.map((k) => model.price(k))
  let ns = 0
  let flops = 0
  let bytes = 0
  for (const c of costs) {
    ns += c.ns
    flops += c.flops
    bytes += c.bytes
  }
  return { costs, ns, flops, bytes }
}
