import { ACCOUNT_PATH } from '../interactions/paths.ts';

/** Every address of the account pages. */
export const ACCOUNT_PAGES = {
  overview: ACCOUNT_PATH,
  callback: `${ACCOUNT_PATH}/callback`,
  signedOut: `${ACCOUNT_PATH}/signed-out`,
  profile: `${ACCOUNT_PATH}/profile`,
  password: `${ACCOUNT_PATH}/password`,
  sessions: `${ACCOUNT_PATH}/sessions`,
  endSession: `${ACCOUNT_PATH}/sessions/end`,
  endAllSessions: `${ACCOUNT_PATH}/sessions/end-all`,
  twoStep: `${ACCOUNT_PATH}/two-step`,
  enrol: `${ACCOUNT_PATH}/two-step/enrol`,
  disableTwoStep: `${ACCOUNT_PATH}/two-step/disable`,
  regenerateCodes: `${ACCOUNT_PATH}/two-step/recovery-codes`,
  passkeys: `${ACCOUNT_PATH}/passkeys`,
  removePasskey: `${ACCOUNT_PATH}/passkeys/remove`,
  applications: `${ACCOUNT_PATH}/applications`,
  revokeApplication: `${ACCOUNT_PATH}/applications/revoke`,
} as const;

/** The engine's RP-initiated logout, which asks before it signs this browser out. */
export const SIGN_OUT_LINK = '/session/end';

/** A path of these pages relative to the router's prefix. */
export const route = (path: string) => path.slice(ACCOUNT_PATH.length) || '/';
