// The slice of bun:test the Bun-side suites use; bun's full types are not a dependency.
declare module "bun:test" {
  export function test(name: string, fn: () => void | Promise<void>, timeoutMs?: number): void;
  export function describe(name: string, fn: () => void): void;
  export function beforeAll(fn: () => void | Promise<void>): void;
  export function afterAll(fn: () => void | Promise<void>): void;
  export const expect: (value: unknown) => { toBe(v: unknown): void; toEqual(v: unknown): void };
}
