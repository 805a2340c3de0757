/**
 * How subgroup-matrix loads and stores are spelled in WGSL. Dawn's current form names the layout as a
 * template argument (`subgroupMatrixLoad<T, row_major>(&p, offset, stride)`); the older form passes a
 * `col_major` bool and still compiles, with a "use of deprecated builtin" warning that Dawn prints on
 * stdout at pipeline creation. The device probes which one its compiler accepts (device.ts).
 */
export type SgmSpelling = "template" | "legacy"

/**
 * A subgroup-matrix load of matrix type `type` from the array `ptr`, at `offset` with rows `stride` apart,
 * both counted in matrix elements (i8 for i8 matrices). The legacy spelling counts them so; the template
 * spelling counts array elements (Dawn's validator says so), hence the division by 4 for 8-bit matrices,
 * which Dawn loads only from 32-bit arrays (offsets and strides are multiples of 4 bytes throughout). Other
 * matrices load only from an array of their own component type (f16 from array<f16>, f32 from array<f32>:
 * Dawn's overloads), so there array and matrix elements are the same and nothing is divided. `vec4`: the
 * array's elements are 4-vectors (vec4<u32> for i8, vec4<f16> for f16), so the template spelling divides by 4
 * more; bench/sgm-ops-probe2.mjs found i8 loads from a workgroup array<vec4<u32>> as fast with Dawn's
 * robustness on as from array<i32> with it off (docs/kernels-h200.md, session 7). Offsets and strides must
 * then be multiples of 16 bytes.
 */
export const sgmLoad = (sp: SgmSpelling, type: string, ptr: string, offset: string, colMajor: boolean, stride: string, vec4 = false): string => {
  if (sp === "legacy") return `subgroupMatrixLoad<${type}>(${ptr}, ${offset}, ${colMajor}, ${stride})`
  const per = (/<[iu]8,/.test(type) ? 4 : 1) * (vec4 ? 4 : 1)
  const o = per > 1 ? `(${offset}) / ${per}u` : offset
  const s = per > 1 ? `(${stride}) / ${per}u` : stride
  return `subgroupMatrixLoad<${type}, ${colMajor ? "col_major" : "row_major"}>(${ptr}, ${o}, ${s})`
}

/** A subgroup-matrix store of the 32-bit matrix `m` into the 32-bit array `ptr` at element `offset`, rows `stride` apart. */
export const sgmStore = (sp: SgmSpelling, ptr: string, offset: string, m: string, colMajor: boolean, stride: string): string =>
  sp === "template"
    ? `subgroupMatrixStore<${colMajor ? "col_major" : "row_major"}>(${ptr}, ${offset}, ${m}, ${stride})`
    : `subgroupMatrixStore(${ptr}, ${offset}, ${m}, ${colMajor}, ${stride})`

/** A one-line shader that compiles only where the template spelling is understood (the device's probe). */
export const SGM_TEMPLATE_PROBE = `enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read_write> b: array<i32>;
@compute @workgroup_size(32) fn main() {
  let m = ${sgmLoad("template", "subgroup_matrix_left<i8, 32, 16>", "&b", "0u", false, "32u")};
  var c = subgroup_matrix_result<i32, 16, 16>();
  c = subgroupMatrixMultiplyAccumulate(m, subgroup_matrix_right<i8, 16, 32>(), c);
  ${sgmStore("template", "&b", "0u", "c", false, "16u")};
}
`
