// Types of scripts/language-docs.mjs, for test/language.table.test.ts.
export declare const BEGIN: string;
export declare const END: string;
export declare function renderRefusals(rows: readonly { code: number; refused: string }[]): string;
export declare function readmeBlock(readme: string): string | undefined;
export declare function withBlock(readme: string, table: string): string;
