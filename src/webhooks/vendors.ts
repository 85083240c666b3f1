import { bamboohrWebhook } from '../../connectors/bamboohr/webhook.js';
import { hibobWebhook } from '../../connectors/hibob/webhook.js';
import { personioWebhook } from '../../connectors/personio/webhook.js';
import type { VendorWebhook } from '../../connectors/webhook.js';

/** Which connector types take webhooks, and how each signs them. */
const WEBHOOKS: Record<string, VendorWebhook> = {
  bamboohr: bamboohrWebhook,
  hibob: hibobWebhook,
  personio: personioWebhook,
};

export function vendorWebhook(type: string): VendorWebhook | undefined {
  return WEBHOOKS[type];
}
