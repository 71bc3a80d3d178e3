/*
 * Loaded by the runner entry before any other module, so before msgpackr reads its
 * environment. A runner decodes call arguments, mostly small, where msgpackr's JavaScript
 * decoder does as well as its native add-on; finding and loading the add-on (a libc probe
 * included) costs about 9 ms of every cold start. Set the variable to "false" to keep it.
 */
process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true';

export {};
