// The QuickJS WebAssembly module a workflow sandbox runs on: compiled once, then one fresh module per script on its
// own capped memory (sandbox.ts runs the script).
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSWASMModule } from "quickjs-emscripten-core";
import variant from "@jitl/quickjs-singlefile-mjs-release-sync";

/** What the WebAssembly module needs before any script (its data, stack and QuickJS itself): Emscripten's default. */
const BASE_MEMORY_MIB = 16;
const PAGE = 65536;
/** The longest string (characters) or JSON text a script may hand to the host in one call. */
export const MAX_HOST_CHARS = 8 * 1024 * 1024;

/** The host's WebAssembly (the project compiles without the DOM library that declares it). */
const Wasm = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => { grow(pages: number): number } };
  }
).WebAssembly;

let warmed: Promise<QuickJSWASMModule> | undefined;

/** Loads (and compiles once) the QuickJS variant, off the first run's path; every sandbox still gets its own module. */
export function loadQuickJS(): Promise<QuickJSWASMModule> {
  warmed ??= newQuickJSWASMModuleFromVariant(variant as never).catch((error) => {
    warmed = undefined;
    throw error;
  });
  return warmed;
}

/**
 * A fresh QuickJS module on its own WebAssembly memory, capped at the script's limit. QuickJS's own limit misses
 * most of what a script allocates in this build (it cannot see the allocator's block sizes), and a WebAssembly
 * memory never shrinks: a shared module grew OpenCode to 2.6 GB and stayed there. Capped, a runaway script gets
 * "out of memory" at the limit, and dropping the module gives the memory back. `refuseGrowth` is asked before
 * every growth (time checks between QuickJS's rare interrupt polls).
 */
export async function cappedModule(memoryMiB: number, refuseGrowth: () => boolean): Promise<QuickJSWASMModule> {
  await loadQuickJS();
  const memory = new Wasm.Memory({
    initial: (BASE_MEMORY_MIB * 1024 * 1024) / PAGE,
    maximum: ((BASE_MEMORY_MIB + memoryMiB) * 1024 * 1024) / PAGE,
  });
  const grow = memory.grow.bind(memory);
  // Emscripten grows the heap through this method (its malloc asks JS); a refusal is a failed malloc in QuickJS.
  Object.defineProperty(memory, "grow", {
    value: (pages: number) => {
      if (refuseGrowth()) throw new RangeError("the sandbox is stopping");
      return grow(pages);
    },
  });
  return newQuickJSWASMModuleFromVariant(newVariant(variant as never, { wasmMemory: memory }) as never);
}
