/**
 * Every column that holds a value sealed by the envelope. A sealed value is bound to its table,
 * column and row (the envelope's additional data), so it opens only where it was written.
 */
export interface SealedColumn {
  table: string;
  column: string;
  /** the column naming the row */
  rowKey: string;
  /** what a value of the first format (`v1.`) was bound to: a purpose, not its row */
  legacyPurpose(row: string): string;
}

export const SIGNING_KEY_SEALED: SealedColumn = {
  table: 'signing_keys',
  column: 'private_jwk_sealed',
  rowKey: 'kid',
  legacyPurpose: () => 'signing_key',
};

export const CLIENT_SECRET_SEALED: SealedColumn = {
  table: 'clients',
  column: 'client_secret_sealed',
  rowKey: 'client_id',
  legacyPurpose: () => 'client_secret',
};

export const TOTP_SECRET_SEALED: SealedColumn = {
  table: 'accounts',
  column: 'totp_secret_sealed',
  rowKey: 'id',
  legacyPurpose: (accountId) => `totp-secret:${accountId}`,
};

export const DERIVATION_ROOT_SEALED: SealedColumn = {
  table: 'master_key_derivation',
  column: 'root_sealed',
  rowKey: 'name',
  legacyPurpose: () => 'derivation-root',
};

export const SEALED_COLUMNS: readonly SealedColumn[] = [SIGNING_KEY_SEALED, CLIENT_SECRET_SEALED, TOTP_SECRET_SEALED, DERIVATION_ROOT_SEALED];
