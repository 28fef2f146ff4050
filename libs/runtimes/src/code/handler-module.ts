/**
 * How a handler names its code, per runtime (the README's "Handlers" table):
 * `module.func` is function `func` of module `module` (dots are folders,
 * `pkg.mod.func` is pkg/mod), and a bare `func` is function `func` of the
 * module `function`, the name a single uploaded source file is stored under.
 * WASM runs a WASI command module's `_start`; its handler is only a label.
 */
export interface HandlerModule {
  /** The module the runtime imports. */
  module: string;
  /** The function it calls. */
  exportName: string;
  /** The files, in the order tried, that hold the module inside a zip. */
  candidates: string[];
}

/** The module a bare handler (no dot) lives in. */
export const defaultHandlerModule = 'function';

export function handlerModule(runtime: string, handler: string): HandlerModule {
  const dot = handler.lastIndexOf('.');
  const module = dot >= 0 ? handler.slice(0, dot) : defaultHandlerModule;
  const exportName = dot >= 0 ? handler.slice(dot + 1) : handler;
  const base = module.replaceAll('.', '/');
  switch (runtime) {
    case 'python':
      return { module, exportName, candidates: [`${base}.py`, `${base}/__init__.py`] };
    case 'node':
      return { module, exportName, candidates: [`${base}.mjs`, `${base}.cjs`, `${base}.js`, `${base}/index.js`] };
    default:
      return { module, exportName, candidates: [] };
  }
}

/** The file of a zip that holds the handler's module; undefined when there is none. */
export function findHandlerFile(runtime: string, handler: string, files: ReadonlySet<string>): string | undefined {
  return handlerModule(runtime, handler).candidates.find((name) => files.has(name));
}
