export { inferCsv } from './infer-csv.ts';
export type { CsvColumn, CsvDialect, CsvInference, CsvInferenceOptions } from './infer-csv.ts';
export { analyzeNdjson, formatJsonPathStep } from './analyze-json.ts';
export type { JsonAnalysis, JsonAnalysisColumn } from './analyze-json.ts';
export { analyzeParquet } from './analyze-parquet.ts';
export { assignColumnNames, positionalColumnName, sanitizeColumnName } from './assign-column-names.ts';
export { DEFAULT_SAMPLE_ROWS } from './inference-input.ts';
export { previewSql, type PreviewColumn } from './preview.ts';
