import type { Resolved } from "../../engine/resolved.js"

/**
 * Why a scenario cannot run on webgpu workers (`live --bind` or `serve --bind` with the webgpu
 * executor), or undefined: a WebGPU unique worker runs whole steps and gets each decode layer's
 * shared attention from a shared worker over its data link, so the scenario must be disaggregated
 * MoSKA with a shared pool, and the links real. `command` names the command in the message.
 * @example const bad = webGpuDeploymentProblem(resolved, opts.realLinks, "serve"); if (bad !== undefined) throw usage(bad)
 */
export const webGpuDeploymentProblem = (resolved: Pick<Resolved, "disaggregated" | "shared" | "system">, realLinks: boolean, command: "live" | "serve"): string | undefined => {
  if (!resolved.disaggregated || resolved.shared === null) return `${command} --bind with webgpu workers runs MoSKA disaggregated: set policy.disaggregated=true with a hardware.shared pool (or add --executor priced)`
  if (resolved.system !== "moska") return `${command} --bind with webgpu workers splits MoSKA's shared attention off: set system=moska (got ${resolved.system}) (or add --executor priced)`
  if (!realLinks) return `${command} --bind with webgpu workers moves real query rows and partials between them: add --links real`
  return undefined
}
