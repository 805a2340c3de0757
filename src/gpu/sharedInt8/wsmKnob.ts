/**
 * The workgroup-array knob of the tensor-core kernels (MOSKA_SHARED_F16_WSM, MOSKA_SHARED_INT8_WSM):
 * `{ wsm: "vec4" }` when the variable `name` is "vec4" (tiles in vec4 arrays, see sgm.ts), `{}` when unset or
 * "scalar"; anything else is an error, so a mistyped knob cannot time the default under a variant's name.
 * @example const o = { ...base, ...wsmKnob("MOSKA_SHARED_INT8_WSM") }
 */
export const wsmKnob = (name: string): { wsm?: "vec4" } => {
  const v = process.env[name]
  if (v === undefined || v === "scalar") return {}
  if (v === "vec4") return { wsm: "vec4" }
  throw new Error(`${name}=${v}: want vec4 or scalar`)
}
