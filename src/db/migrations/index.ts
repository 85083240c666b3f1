import { Migration20261126000000_initial } from './Migration20261126000000_initial.js';

/** Every migration, in order. Listed here (not globbed) so tsx and the compiled build find the same set. */
export const migrationsList = [
  { name: 'Migration20261126000000_initial', class: Migration20261126000000_initial },
];
