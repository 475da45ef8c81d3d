/** One figure printed by `make bench`, with the DESIGN.md budget it is compared to, if any. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** `>=`: the value should be at least budget.value; `<=`: at most. */
  budget?: { op: '>=' | '<='; value: number };
  note?: string;
}
