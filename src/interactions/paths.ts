/** Where the pages outside the authorization flow live (linked from the sign-in page). */
export const PASSWORD_RESET_PATH = '/reset';
export const REGISTRATION_PATH = '/register';
export const ACCOUNT_PATH = '/account';
