/** DI tokens shared by every service. */
export const APP_CONFIG = Symbol('APP_CONFIG');
export const STORE = Symbol('STORE');
export const LOGGER = Symbol('LOGGER');
