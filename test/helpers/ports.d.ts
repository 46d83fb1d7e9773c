/** A port nothing listens on, outside the kernel's ephemeral range and the fetch bad ports, not handed out before by this worker. */
export function freePort(): Promise<number>;

/** Whether a TCP connection to 127.0.0.1:`port` is accepted right now: 'connected', or the error code (e.g. ECONNREFUSED). */
export function connectOutcome(port: number): Promise<string>;
