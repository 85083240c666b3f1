import { AppError } from '../src/lib/errors.js';
import type { HrConnector } from './types.js';
import { fileConnector } from './file/index.js';
import { bamboohrConnector } from './bamboohr/index.js';
import { personioConnector } from './personio/index.js';
import { hibobConnector } from './hibob/index.js';
import { scimConnector } from './scim/index.js';

/** Every HR system hrsync can read, by config `type`. */
const connectors: Record<string, HrConnector<any>> = {
  [fileConnector.type]: fileConnector,
  [bamboohrConnector.type]: bamboohrConnector,
  [personioConnector.type]: personioConnector,
  [hibobConnector.type]: hibobConnector,
  [scimConnector.type]: scimConnector,
};

export function connectorTypes(): string[] {
  return Object.keys(connectors);
}

export function getConnector(type: string): HrConnector<any> {
  const c = connectors[type];
  if (!c) {
    throw new AppError('connector_unknown_type', `unknown connector type "${type}" (known: ${connectorTypes().join(', ')})`);
  }
  return c;
}

export function findConnector(type: string): HrConnector<any> | undefined {
  return connectors[type];
}
