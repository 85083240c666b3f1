import { Migration20261126000000_initial } from './Migration20261126000000_initial.js';
import { Migration20261126010000_rollouts } from './Migration20261126010000_rollouts.js';
import { Migration20261126020000_service } from './Migration20261126020000_service.js';
import { Migration20261127000000_users_org_seq } from './Migration20261127000000_users_org_seq.js';
import { Migration20261205120000_one_live_invitation } from './Migration20261205120000_one_live_invitation.js';
import { Migration20261205130000_connector_records } from './Migration20261205130000_connector_records.js';
import { Migration20261205140000_dashboard_drafts } from './Migration20261205140000_dashboard_drafts.js';
import { Migration20261205150000_dashboard_sessions } from './Migration20261205150000_dashboard_sessions.js';
import { Migration20261205170000_lifecycle } from './Migration20261205170000_lifecycle.js';
import { Migration20261205180000_push } from './Migration20261205180000_push.js';
import { Migration20261205190000_history_notifications } from './Migration20261205190000_history_notifications.js';
import { Migration20261205200000_set_based_integrity } from './Migration20261205200000_set_based_integrity.js';

/** Every migration, in order. Listed here (not globbed) so tsx and the compiled build find the same set. */
export const migrationsList = [
  { name: 'Migration20261126000000_initial', class: Migration20261126000000_initial },
  { name: 'Migration20261126010000_rollouts', class: Migration20261126010000_rollouts },
  { name: 'Migration20261126020000_service', class: Migration20261126020000_service },
  { name: 'Migration20261127000000_users_org_seq', class: Migration20261127000000_users_org_seq },
  { name: 'Migration20261205120000_one_live_invitation', class: Migration20261205120000_one_live_invitation },
  { name: 'Migration20261205130000_connector_records', class: Migration20261205130000_connector_records },
  { name: 'Migration20261205140000_dashboard_drafts', class: Migration20261205140000_dashboard_drafts },
  { name: 'Migration20261205150000_dashboard_sessions', class: Migration20261205150000_dashboard_sessions },
  { name: 'Migration20261205170000_lifecycle', class: Migration20261205170000_lifecycle },
  { name: 'Migration20261205180000_push', class: Migration20261205180000_push },
  { name: 'Migration20261205190000_history_notifications', class: Migration20261205190000_history_notifications },
  { name: 'Migration20261205200000_set_based_integrity', class: Migration20261205200000_set_based_integrity },
];
