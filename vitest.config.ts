import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Compiling through the TypeScript compiler is slow to start; each file gets time for it.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
