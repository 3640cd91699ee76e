import { matchesEngineRoute } from '../engine-path.ts';

/** The engine's routes of the device flow (its defaults: routes.code_verification and routes.device_authorization). */
export const DEVICE_PATH = '/device';
export const isCodeVerification = matchesEngineRoute(DEVICE_PATH);
