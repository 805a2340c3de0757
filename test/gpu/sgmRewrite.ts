import { expect } from "vitest"

/**
 * The part the int8 stub and the f16 emulation share: drops the subgroup-matrix extension, derives
 * the subgroup id from the thread index, renames the matrix types (`types`: WGSL type -> struct
 * name) and turns each matrix load, store and multiply into a call of a helper the caller writes
 * (`load<T>_<array>(colMajor, …)`, `store_<array>(colMajor, …)`, `mma(…)`). Returns the rewritten
 * WGSL with the (type, array) loads and arrays stored that the helpers must cover.
 */
export const rewriteSgmCalls = (wgsl: string, types: Readonly<Record<string, string>>): { s: string; loads: Set<string>; stores: Set<string> } => {
  let s = wgsl.replace("enable chromium_experimental_subgroup_matrix;\n", "").replace(", @builtin(subgroup_id) sg: u32) {", ") {\n  let sg = t / 32u;")
  for (const [from, to] of Object.entries(types)) s = s.replaceAll(from, to)
  const names = Object.values(types).join("|")
  const loads = new Set<string>()
  const stores = new Set<string>()
  s = s.replace(new RegExp(`subgroupMatrixLoad<(${names}), (row|col)_major>\\(&(\\w+), `, "g"), (_, T: string, L: string, arr: string) => {
    loads.add(`${T}:${arr}`)
    return `load${T}_${arr}(${L === "col"}, `
  })
  s = s.replace(/subgroupMatrixStore<(row|col)_major>\(&(\w+), /g, (_, L: string, arr: string) => {
    stores.add(arr)
    return `store_${arr}(${L === "col"}, `
  })
  s = s.replaceAll("subgroupMatrixMultiplyAccumulate(", "mma(")
  expect(s).not.toMatch(/subgroupMatrix|subgroup_matrix/)
  return { s, loads, stores }
}
