// Placeholder replaced by the store's test setup (per-run database and Redis prefix).
export default async function setup(): Promise<void> {}
