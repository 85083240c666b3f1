/**
 * `${ENV_NAME}` in config values is replaced by the environment variable; `$${` escapes a
 * literal `${`. A reference to an unset variable is a config problem reported with its path.
 */
export interface InterpolationProblem { path: string; message: string }

const REF = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function interpolateEnv(value: unknown, env: Record<string, string | undefined>, path = '', problems: InterpolationProblem[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(REF, (whole, escaped: string, name: string) => {
      if (escaped) return whole.slice(1);
      const v = env[name];
      if (v === undefined) {
        problems.push({ path, message: `environment variable ${name} is not set` });
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, `${path}[${i}]`, problems));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, path ? `${path}.${k}` : k, problems);
    return out;
  }
  return value;
}
