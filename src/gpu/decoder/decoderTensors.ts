import type { DecoderDims } from "./decoderDims.js"

/** One weight tensor of the Hugging Face Llama layout: its name, shape and how synthetic values are drawn. */
export interface TensorSpec {
  readonly name: string
  /** Row-major shape; linear layers are [out_features, in_features] as `nn.Linear` stores them. */
  readonly shape: readonly number[]
  readonly kind: "dense" | "norm"
}

/**
 * Every tensor a Llama checkpoint holds for `dims`, in load order. `lm_head.weight` is listed too;
 * a checkpoint with tied embeddings may omit it (the embedding is then used for the LM head).
 * @example decoderTensors(dims).find((t) => t.name === "model.norm.weight")?.shape // [hidden]
 */
export const decoderTensors = (d: DecoderDims): TensorSpec[] => {
  const { hidden: H, qHeads: Hq, kvHeads: Hkv, headDim: D, intermediate: I, vocab: V } = d
  const out: TensorSpec[] = [{ name: "model.embed_tokens.weight", shape: [V, H], kind: "dense" }]
  for (let l = 0; l < d.layers; l++) {
    const p = `model.layers.${l}.`
    out.push(
      { name: `${p}input_layernorm.weight`, shape: [H], kind: "norm" },
      { name: `${p}self_attn.q_proj.weight`, shape: [Hq * D, H], kind: "dense" },
      { name: `${p}self_attn.k_proj.weight`, shape: [Hkv * D, H], kind: "dense" },
      { name: `${p}self_attn.v_proj.weight`, shape: [Hkv * D, H], kind: "dense" },
      { name: `${p}self_attn.o_proj.weight`, shape: [H, Hq * D], kind: "dense" },
      { name: `${p}post_attention_layernorm.weight`, shape: [H], kind: "norm" },
      { name: `${p}mlp.gate_proj.weight`, shape: [I, H], kind: "dense" },
      { name: `${p}mlp.up_proj.weight`, shape: [I, H], kind: "dense" },
      { name: `${p}mlp.down_proj.weight`, shape: [H, I], kind: "dense" },
    )
  }
  out.push({ name: "model.norm.weight", shape: [H], kind: "norm" }, { name: "lm_head.weight", shape: [V, H], kind: "dense" })
  return out
}
