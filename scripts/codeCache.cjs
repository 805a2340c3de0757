"use strict"
/**
 * V8 code cache for the bundled CLI's chunks (dist/bundle/, built by scripts/bundle.mjs, which
 * copies this file there as codeCache.js). Node 20 has no module.enableCompileCache, so the chunks
 * are compiled here through vm.Script with the bytecode V8 wrote for them at build time
 * (`<chunk>.v8cache` beside each): start-up then skips most parsing and compiling. Required first
 * by each entry stub (main.js, simWorker.js, traceWriterWorker.js): a worker thread has its own
 * module loader and needs its own hook.
 *
 * Safe by construction: V8 rejects a cache made by another V8 version, with other flags, or for a
 * source of another length, and then compiles the source as usual; a chunk's file name carries
 * the hash of its content, so a rebuilt chunk never meets an old cache. Only files in this folder
 * are affected; the cache is read, never written, except by the build (MOSKA_CODE_CACHE=write
 * writes, at exit, the cache of every chunk loaded that has none yet: its top-level code and the
 * functions the run called).
 */
const Module = require("node:module")
const vm = require("node:vm")
const fs = require("node:fs")
const path = require("node:path")

const write = process.env.MOSKA_CODE_CACHE === "write"
/** Scripts compiled in write mode, with where their cache goes. */
const compiled = []
const compile = Module.prototype._compile

/**
 * Whether a chunk may call import(): vm.Script compiles it without a dynamic import callback (the
 * one Node offers is experimental and warns on stderr), so such a chunk keeps Node's own compile
 * and no cache. Over-eager on purpose (a template string or a comment mentioning import( counts;
 * JSDoc lines do not), so that a real import() is never missed.
 */
const mayImport = (content) => content.split("\n").some((line) => {
  const t = line.trimStart()
  return !t.startsWith("*") && !t.startsWith("/*") && !t.startsWith("//") && /(^|[^\w$.])import\s*\(/.test(line)
})

Module.prototype._compile = function (content, filename) {
  if (path.dirname(filename) !== __dirname || !filename.endsWith(".js")) return compile.call(this, content, filename)
  const cacheFile = `${filename.slice(0, -3)}.v8cache`
  let cachedData
  try {
    cachedData = fs.readFileSync(cacheFile)
  } catch {
    // no cache for this chunk (not loaded by the build's runs, or one that may import()): Node compiles it
    if (!write || mayImport(content)) return compile.call(this, content, filename)
  }
  // the entry chunk starts with the CLI's hashbang, which is no JavaScript inside the wrapper
  const source = Module.wrap(content.startsWith("#!") ? `//${content.slice(2)}` : content)
  const script = new vm.Script(source, { filename, ...(cachedData !== undefined ? { cachedData } : {}) })
  // the first run that loads a chunk writes its cache: a later one (the sim after --help) would add the
  // functions it ran to chunks --help loads too, and a bigger cache takes longer to read at every start
  if (write && (cachedData === undefined || script.cachedDataRejected === true)) compiled.push({ script, cacheFile })
  const mod = this
  const require = (id) => mod.require(id)
  require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options)
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod)
  require.main = process.mainModule
  require.extensions = Module._extensions
  require.cache = Module._cache
  return script.runInThisContext({ displayErrors: true }).call(mod.exports, mod.exports, require, mod, filename, __dirname)
}

if (write) {
  process.once("exit", () => {
    for (const { script, cacheFile } of compiled) {
      // through a temporary name: the main thread and the sim worker may write the same chunk's cache
      const tmp = `${cacheFile}.${process.pid}.${require("node:worker_threads").threadId}`
      fs.writeFileSync(tmp, script.createCachedData())
      fs.renameSync(tmp, cacheFile)
    }
  })
}
