/** A port nothing listens on, outside the kernel's ephemeral range and the fetch bad ports, not handed out before by this worker. */
export function freePort(): Promise<number>;

/** Whether a TCP connection to 127.0.0.1:`port` is accepted right now. */
export function acceptsConnections(port: number): Promise<boolean>;
