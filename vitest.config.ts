import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Vitest leaves one core to its main process, which on a 2-core machine runs every file in one
    // worker; the main process mostly waits, so one worker per core halves the suite's time there.
    maxWorkers: availableParallelism(),
    // Compiling through the TypeScript compiler is slow to start; each file gets time for it.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
