/**
 * One chaos scenario's outcome: one row of a table in docs/reliability.md.
 * Every scenario module under bench/chaos/ exports `scenarios: ChaosScenario[]`;
 * bench/chaos/run.ts (`npm run chaos [-- --quick] [-- --only <name>]`) runs them in turn.
 */
export interface ChaosResult {
  /** table the row belongs to, e.g. "worker SIGKILL", "Redis restart", "PostgreSQL restart", "HR API chaos" */
  table: string;
  /** what was done, one line: "20,000-user rollout, worker SIGKILLed at 5 random moments" */
  scenario: string;
  /** how many times the fault was injected */
  faults: number;
  /** e.g. messages expected / users expected */
  expected: number;
  /** lost: expected work that never happened (must be 0) */
  lost: number;
  /** duplicated: work done twice (messages sent twice, ...) */
  duplicated: number;
  /** the bound the duplicates must stay within (messages in flight), or null */
  duplicateBound: number | null;
  /** rollouts: links someone received that are not accepted now (must be 0); undefined for other rows */
  deadLinks?: number;
  /** wrongful deactivations (HR chaos) or invariant violations found by SQL afterwards */
  violations: number;
  /** seconds from the fault to the work going on again (max over faults), or null */
  recoverySeconds: number | null;
  /** total seconds the scenario took */
  seconds: number;
  /** ok when lost = 0, violations = 0 and duplicates within the bound */
  ok: boolean;
  /** anything else worth a reader's time: final run status, retries seen, ... */
  notes?: string;
}

export interface ChaosScenario {
  /** short unique name for --only */
  name: string;
  table: string;
  /** quick: the size used by the short version in npm test (seconds, not minutes) */
  run(opts: { quick: boolean; log: (line: string) => void }): Promise<ChaosResult[]>;
}
